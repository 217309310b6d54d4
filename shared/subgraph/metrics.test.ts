import { describe, expect, it } from '@jest/globals';
import type { GraphQLRequestListener } from '@apollo/server';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { createRequestScope, runInRequestScope } from '../http/request-scope.js';
import type { SubgraphContext } from './context.js';
import {
  createSubgraphMetrics,
  graphqlRequestId,
  observeSubscribers,
  operationMetricsScope,
  recordSqlStatement,
  useSubgraphMetrics,
  type SubgraphMetrics,
} from './metrics.js';
import { createSubgraphPubSub } from './pubsub.js';

const logger = pino({ level: 'silent' });
const tick = () => new Promise((resolve) => setTimeout(resolve, 1));

/** One GraphQL request as a subgraph serves it: its scope, its tally, the metrics plugin's hooks, `statements` SQL statements. */
function serve(metrics: SubgraphMetrics, requestId: string, operationName: string, statements: number) {
  return runInRequestScope(createRequestScope({ requestId, logger, clientIp: '127.0.0.1' }), async () => {
    await new Promise<void>((next) => operationMetricsScope(metrics)({} as never, {} as never, () => next()));
    const listener = (await useSubgraphMetrics(metrics).requestDidStart!({} as never)) as GraphQLRequestListener<SubgraphContext>;
    await listener.didResolveOperation!({ operationName } as never);
    const seen: (string | undefined)[] = [];
    for (let i = 0; i < statements; i++) {
      await tick();
      recordSqlStatement(1);
      seen.push(graphqlRequestId());
    }
    await listener.willSendResponse!({ response: { body: { kind: 'single', singleResult: {} } } } as never);
    return seen;
  });
}

describe("a subgraph's operation metrics", () => {
  it("count each request's statements under its own operation, however the requests interleave", async () => {
    const registry = new Registry();
    const metrics = createSubgraphMetrics(registry);
    const [first, second] = await Promise.all([serve(metrics, 'request-a', 'A', 3), serve(metrics, 'request-b', 'B', 5)]);
    expect(first).toEqual(Array(3).fill('request-a'));
    expect(second).toEqual(Array(5).fill('request-b'));
    const { values } = await metrics.sqlStatements.get();
    const sums = Object.fromEntries(
      values.filter((value) => value.metricName?.endsWith('_sum')).map((value) => [value.labels.operation, value.value]),
    );
    expect(sums).toEqual({ A: 3, B: 5 });
  });

  it('leave out what runs outside a GraphQL request: in a request scope without an operation (readiness probes) or in none', async () => {
    const registry = new Registry();
    const metrics = createSubgraphMetrics(registry);
    const probe = runInRequestScope(createRequestScope({ requestId: 'probe', logger, clientIp: '127.0.0.1' }), () => {
      recordSqlStatement(1);
      return graphqlRequestId();
    });
    recordSqlStatement(1);
    expect(probe).toBeUndefined();
    expect(graphqlRequestId()).toBeUndefined();
    expect((await metrics.sqlDuration.get()).values.filter((value) => value.metricName?.endsWith('_count'))).toEqual([]);
  });
});

describe("a subgraph's subscribers gauge", () => {
  it('reports the subscribers of each topic listened to, and drops a topic with its last subscriber', async () => {
    const registry = new Registry();
    const pubSub = createSubgraphPubSub({ name: 'gizmos' });
    observeSubscribers(registry, pubSub);
    const scrape = async () =>
      Object.fromEntries(
        (await registry.getSingleMetric('tessera_subgraph_event_subscribers')!.get()).values.map((value) => [
          value.labels.topic,
          value.value,
        ]),
      );
    const gizmos = [pubSub.subscribe('GIZMO'), pubSub.subscribe('GIZMO')].map((events) => events[Symbol.asyncIterator]());
    const widgets = pubSub.subscribe('WIDGET')[Symbol.asyncIterator]();
    // A listener is added when the iterator is first read.
    for (const events of [...gizmos, widgets]) void events.next();
    expect(await scrape()).toEqual({ GIZMO: 2, WIDGET: 1 });
    await widgets.return?.();
    await gizmos[0]!.return?.();
    expect(await scrape()).toEqual({ GIZMO: 1 });
    await gizmos[1]!.return?.();
    expect(await scrape()).toEqual({});
  });
});
