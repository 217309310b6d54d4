import { describe, expect, it } from '@jest/globals';
import { composeServices } from '@apollo/composition';
import { operationFromDocument, Supergraph } from '@apollo/federation-internals';
import { QueryPlanner, type PlanNode } from '@apollo/query-planner';
import { Kind, parse, type OperationDefinitionNode } from 'graphql';
import type { SubgraphAnswer, SubgraphClient } from '../subgraph-calls/subgraph-client.js';
import { deferredDocument } from './deferred-document.js';
import { ExecutionSlots } from './execution-slots.js';
import { runDeferredPlan, type IncrementalPayload } from './run-defer.js';
import { typeConditionsOf } from './type-conditions.js';

const link = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.8", import: ["@key"])';
const composition = composeServices(
  [
    { name: 'products', typeDefs: `${link} type Query { product: Product } type Product @key(fields: "upc") { upc: ID! name: String }` },
    { name: 'reviews', typeDefs: `${link} type Product @key(fields: "upc") { upc: ID! rating: Int }` },
  ].map(({ name, typeDefs }) => ({ name, typeDefs: parse(typeDefs), url: `fake://${name}` })),
);
if (composition.errors) throw new Error(composition.errors.map(String).join('; '));
const supergraph = Supergraph.build(composition.supergraphSdl);
const planner = new QueryPlanner(supergraph, { incrementalDelivery: { enableDefer: true } });
const schema = supergraph.apiSchema().toGraphQLJSSchema();
const conditions = typeConditionsOf(supergraph.schema);
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('runDeferredPlan', () => {
  it('runs the primary and the deferred fetches of many requests within the execution slots, a held-back subgraph included', async () => {
    const deferred = planned('{ product { name ... @defer { rating } } }');
    expect(deferred.node.kind).toBe('Defer');

    let inFlight = 0;
    let mostInFlight = 0;
    const held: (() => void)[] = [];
    const clientOf = (subgraph: string): SubgraphClient => ({
      name: subgraph,
      url: `fake://${subgraph}`,
      async call(): Promise<SubgraphAnswer> {
        inFlight++;
        mostInFlight = Math.max(mostInFlight, inFlight);
        // Reviews answers only when the test releases it; products at once.
        if (subgraph === 'reviews') await new Promise<void>((resolve) => held.push(resolve));
        else await settle();
        inFlight--;
        const data =
          subgraph === 'products'
            ? { product: { __typename: 'Product', upc: '1', name: 'Shoe' } }
            : { _entities: [{ __typename: 'Product', rating: 5 }] };
        return { data };
      },
      close: async () => {},
    });

    // Two slots, held for longer than the test runs: the bound is what is measured, not the hand-over.
    const slots = new ExecutionSlots(2, 60_000);
    const REQUESTS = 6;
    // As the engine does: the request's plan starts in a slot, which it gives back once the stream is made.
    const streams = await Promise.all(Array.from({ length: REQUESTS }, () => slots.run(async () => deferred.run(clientOf, slots))));
    const collected = streams.map(async (stream) => {
      const payloads: IncrementalPayload[] = [];
      for await (const payload of stream) payloads.push(payload);
      return payloads;
    });
    for (let i = 0; i < 50; i++) await settle();
    expect(mostInFlight).toBeLessThanOrEqual(2);
    expect(held).toHaveLength(2);
    expect(slots.queued).toBeGreaterThan(0);

    // Released one at a time (bounded: each round frees a slot for the next), every request finishes.
    for (let round = 0; round < REQUESTS * 4 && held.length + slots.queued + slots.active > 0; round++) {
      held.shift()?.();
      for (let i = 0; i < 20; i++) await settle();
      expect(inFlight).toBeLessThanOrEqual(2);
    }
    const results = await Promise.all(collected);
    expect(mostInFlight).toBe(2);
    for (const payloads of results) {
      expect(payloads).toEqual([
        { data: { product: { name: 'Shoe' } }, hasNext: true },
        { incremental: [{ data: { rating: 5 }, path: ['product'] }], hasNext: false },
      ]);
    }
    expect([slots.active, slots.queued]).toEqual([0, 0]);
  });

  it('delivers a null the deferred fragment selects, where a fragment nested in it would go', async () => {
    // `product` is only a place for the inner part: the outer part must still say it is null.
    // (The planner leaves `product` out of the outer part's subselection: it selects nothing of its own there.)
    const payloads = await deferredPayloads(
      '{ ... @defer(label: "outer") { product { ... @defer(label: "inner") { name } } other: product { upc } } }',
      { products: { product: null, other: { upc: '2' } } },
    );
    expect(payloads).toEqual([
      { data: {}, hasNext: true },
      { incremental: [{ data: { product: null, other: { upc: '2' } }, path: [], label: 'outer' }], hasNext: true },
      // The inner part has no object to go to: it ends the response with nothing.
      { incremental: [], hasNext: false },
    ]);
  });

  it('tells apart unlabelled defers at one path: one left out by @skip delivers nothing', async () => {
    const payloads = await deferredPayloads(
      '{ product { ... on Product @skip(if: true) { ... @defer { __typename } } ... @defer { name } ... @defer { upc } } }',
      { products: { product: { __typename: 'Product', upc: '1', name: 'Shoe' } } },
    );
    const items = payloads.flatMap((payload) => ('incremental' in payload ? payload.incremental : []));
    expect(payloads[0]).toEqual({ data: { product: {} }, hasNext: true });
    // Unlabelled, each part still one item of its own fragment's fields, and no label of the gateway's sent.
    expect(items.map((item) => item.data).sort((a, b) => Object.keys(a!)[0]!.localeCompare(Object.keys(b!)[0]!))).toEqual([
      { name: 'Shoe' },
      { upc: '1' },
    ]);
    expect(items.every((item) => item.path.join('.') === 'product' && !('label' in item))).toBe(true);
    expect(payloads.at(-1)!.hasNext).toBe(false);
  });
});

/** A query planned as the engine plans it (from its deferred document), and how to run it. */
function planned(query: string) {
  const { document, ownLabels, hiddenTypename } = deferredDocument(parse(query));
  const operation = document.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!;
  const node = planner.buildQueryPlan(operationFromDocument(supergraph.schema, document)).node as PlanNode;
  const run = (clientOf: (subgraph: string) => SubgraphClient, slots: ExecutionSlots) =>
    runDeferredPlan(node, {
      schema,
      document,
      operation,
      ownLabels,
      hiddenTypename,
      execution: { variables: {}, coercedVariables: {}, context: {}, conditions, clientOf },
      slots,
    });
  return { node, run };
}

/** The payloads of a deferred query over subgraphs answering with these constant `data`s. */
async function deferredPayloads(query: string, answers: Record<string, SubgraphAnswer['data']>): Promise<IncrementalPayload[]> {
  const clientOf = (subgraph: string): SubgraphClient => ({
    name: subgraph,
    url: `fake://${subgraph}`,
    call: async (): Promise<SubgraphAnswer> => ({ data: answers[subgraph] ?? null }),
    close: async () => {},
  });
  const stream = planned(query).run(clientOf, new ExecutionSlots(2, 60_000));
  const payloads: IncrementalPayload[] = [];
  for await (const payload of stream) payloads.push(payload);
  return payloads;
}
