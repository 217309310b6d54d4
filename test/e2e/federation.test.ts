import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { apiSchemaOf, composeFromRunning } from '../../gateway/supergraph/supergraph.js';
import { seedId } from '../../shared/store/seed.js';
import { TEST_SIGNING_SECRET } from '../support/config.js';
import { postGraphQL, signedAs, type TestSubgraph } from '../support/subgraph.js';
import { startTestSupergraph, type TestSupergraph } from '../support/supergraph.js';
import { annexColor, GIZMOS, shippingNote } from '../fixtures/federation/data.js';
import { startFederationFixture } from '../fixtures/federation/index.js';

/**
 * Every Federation 2 directive, written as Apollo documents it, in two fixture subgraphs
 * (test/fixtures/federation) composed with the shop's and served by Tessera's gateway.
 */
describe('the federation fixture through the gateway', () => {
  let fixture: TestSubgraph[];
  let lab: TestSubgraph;
  let annex: TestSubgraph;
  let supergraph: TestSupergraph;
  let supergraphSdl: string;

  beforeAll(async () => {
    fixture = await startFederationFixture();
    [lab, annex] = fixture as [TestSubgraph, TestSubgraph];
    const extraSubgraphs = fixture.map((s) => ({ name: s.name, url: s.url }));
    supergraph = await startTestSupergraph({ extraSubgraphs });
    const composed = await composeFromRunning(
      [...Object.values(supergraph.subgraphs), ...extraSubgraphs].map((s) => ({ name: s.name, url: s.url })),
      TEST_SIGNING_SECRET,
    );
    expect(composed.errors).toEqual([]);
    supergraphSdl = composed.supergraphSdl!;
  });
  afterAll(async () => {
    await supergraph?.stop();
    await Promise.all((fixture ?? []).map((s) => s.stop()));
  });

  const entities = (subgraph: TestSubgraph, representations: Record<string, unknown>[], selection: string) =>
    subgraph.query(`query($r: [_Any!]!) { _entities(representations: $r) { ${selection} } }`, { r: representations });

  it('resolves an entity by each of its keys: single, composite and nested', async () => {
    const byId = await entities(lab, [{ __typename: 'Gizmo', id: 'gz2' }], '... on Gizmo { sku }');
    const byComposite = await entities(lab, [{ __typename: 'Gizmo', sku: 'GZ-2', region: { code: 'US' } }], '... on Gizmo { id }');
    expect(byId.data).toEqual({ _entities: [{ sku: 'GZ-2' }] });
    expect(byComposite.data).toEqual({ _entities: [{ id: 'gz2' }] });
    expect(supergraphSdl).toContain('@join__type(graph: LAB, key: "sku region { code }")');
  });

  it('follows a `resolvable: false` reference to the shop subgraph that resolves it', async () => {
    const { data, errors } = await supergraph.query('{ makers { id flagship { id name } } }');
    expect(errors).toBeUndefined();
    const product = seedId('product', '100000000001');
    expect(data!.makers[0].flagship).toEqual({ id: product, name: expect.any(String) });
    expect(supergraphSdl).toContain('@join__type(graph: ANNEX, key: "id", resolvable: false)');
  });

  it('computes a @requires field from the external fields the gateway fetched, and @override moves a field', async () => {
    const { data, errors } = await supergraph.query('{ gizmos { id shippingNote color } }');
    expect(errors).toBeUndefined();
    expect(data!.gizmos).toEqual(GIZMOS.map((g) => ({ id: g.id, shippingNote: shippingNote(g.weightGrams), color: annexColor(g.id) })));
    expect(supergraphSdl).toMatch(/color: String! @join__field\(graph: ANNEX, override: "lab"\)/);
  });

  it('plans a progressive @override (`label`) as not applied: the field stays where it came from', async () => {
    // @apollo/gateway passes no override conditions to its planner; Apollo Router rolls `percent(n)` out.
    const { data } = await supergraph.query('{ gizmos { finish } }');
    expect(data!.gizmos).toEqual(GIZMOS.map((g) => ({ finish: g.finish })));
    expect(supergraphSdl).toMatch(/finish: String! @join__field\(graph: ANNEX, override: "lab", overrideLabel: "percent\(50\)"\)/);
  });

  it('serves a @provides field from the providing subgraph, without a hop to its owner', async () => {
    supergraph.resetRequests();
    const before = annex.requests();
    const { data } = await supergraph.query('{ gizmos { maker { id name } } }');
    expect(data!.gizmos).toEqual(GIZMOS.map((g) => ({ maker: g.maker })));
    expect(annex.requests()).toBe(before);
    // Asking for a field lab does not provide does go to annex.
    await supergraph.query('{ gizmos { maker { country } } }');
    expect(annex.requests()).toBe(before + 1);
  });

  it('adds an @interfaceObject field to every implementation of the interface', async () => {
    const { data, errors } = await supergraph.query(
      '{ instruments { id calibratedAt ... on Microscope { magnification } ... on Telescope { aperture } } }',
    );
    expect(errors).toBeUndefined();
    expect(data!.instruments).toEqual([
      { id: 'in1', calibratedAt: '2026-01-01', magnification: 40 },
      { id: 'in2', calibratedAt: '2026-01-02', aperture: 200 },
    ]);
  });

  // The next three are answered wrongly by stock @apollo/gateway (GATEWAY_EXECUTOR=apollo): it
  // lets the interface subgraph's `__typename` overwrite the concrete one it fetched, dropping
  // the fragments on the concrete types, or nulling the whole response when `__typename` is
  // asked; and it leaves an entity out of a fetch when a field of it was skipped, nulling the rest.
  it('keeps the concrete type of an @interfaceObject entity for __typename and fragments on it', async () => {
    const asked = await supergraph.query(
      '{ instruments { ... on Instrument { __typename ... on Microscope { calibratedAt m: calibratedAt } } ... on Telescope { name } } }',
    );
    expect(asked.errors).toBeUndefined();
    expect(JSON.stringify(asked.data)).toBe(
      JSON.stringify({
        instruments: [
          { __typename: 'Microscope', calibratedAt: '2026-01-01', m: '2026-01-01' },
          { __typename: 'Telescope', name: 'Sky 200' },
        ],
      }),
    );
    const unasked = await supergraph.query(
      '{ instruments { ... on Telescope { calibratedAt __typename } ... on Microscope { calibratedAt name } } }',
    );
    expect(unasked.data!.instruments).toEqual([
      { calibratedAt: '2026-01-01', name: 'Lens 40' },
      { calibratedAt: '2026-01-02', __typename: 'Telescope' },
    ]);
  });

  // Stock @apollo/gateway loses the aliased `a0` here and nulls the response (its
  // `extensions.valueCompletion` says "Cannot return null for non-nullable field Gizmo.a0.").
  it('answers an aliased @requires field fetched beside a skipped one', async () => {
    const { data, errors } = await supergraph.query('{ gizmos { finish maker { __typename } a0: color shippingNote @skip(if: true) } }');
    expect(errors).toBeUndefined();
    expect(data!.gizmos).toEqual(GIZMOS.map((g) => ({ finish: expect.any(String), maker: { __typename: 'Maker' }, a0: annexColor(g.id) })));
  });

  it('answers an entity field beside a @requires field skipped by a variable, with another root field failing', async () => {
    const { data, errors } = await supergraph.query(
      'query ($note: Boolean!) { gizmos { shippingNote @include(if: $note) color } product { createdAt } }',
      { note: false },
    );
    expect(errors?.map((e) => [e.path, e.extensions?.code])).toEqual([[['product'], 'BAD_USER_INPUT']]);
    expect(data).toEqual({ gizmos: GIZMOS.map((g) => ({ color: annexColor(g.id) })), product: null });
  });

  it('keeps an @inaccessible field out of the API schema, yet the subgraph answers it', async () => {
    expect(apiSchemaOf(supergraphSdl)).not.toMatch(/\bsecret\b/);
    const through = await supergraph.query('{ gizmos { secret } }');
    expect(through.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    const direct = await lab.query('{ gizmos { secret } }');
    expect(direct.data).toEqual({ gizmos: GIZMOS.map((g) => ({ secret: g.secret })) });
  });

  it('carries @tag and a @composeDirective directive into the supergraph', () => {
    expect(supergraphSdl).toMatch(/codename: String! @join__field\(graph: LAB\) @tag\(name: "internal"\)/);
    expect(supergraphSdl).toContain('@link(url: "https://tessera.dev/specs/lab/v1.0", import: ["@lab"])');
    expect(supergraphSdl).toMatch(/type Maker[^{]*@lab\(note: "made here"\)/);
  });

  it('enforces @authenticated on a fixture field like on the shop’s', async () => {
    const { errors } = await supergraph.query('{ makers { revenue } }');
    expect(errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('prints every directive unqualified in `_service { sdl }`, with the federation link it needs', async () => {
    const sdl = async (s: TestSubgraph) => (await s.query<{ _service: { sdl: string } }>('{ _service { sdl } }')).data!._service.sdl;
    const [labSdl, annexSdl] = [await sdl(lab), await sdl(annex)];
    expect(labSdl).toContain(
      '@link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@provides", "@external", "@shareable", "@inaccessible", "@tag"])',
    );
    expect(annexSdl).toContain(
      '@link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key", "@requires", "@external", "@shareable", "@override", "@extends", "@composeDirective", "@interfaceObject", "@authenticated", "@cost", "@listSize"])',
    );
    // The spec's other directives are defined under their qualified names; none is applied so.
    const applied = (sdl: string) =>
      sdl
        .split('\n')
        .filter((line) => !line.startsWith('directive '))
        .join('\n');
    expect(applied(`${labSdl}\n${annexSdl}`)).not.toContain('@federation__');
    for (const used of [
      '@key(fields: "sku region { code }")',
      '@provides(fields: "name")',
      '@inaccessible',
      '@tag(name: "internal")',
      '@shareable',
    ])
      expect(labSdl).toContain(used);
    for (const used of [
      '@requires(fields: "weightGrams")',
      '@external',
      '@override(from: "lab")',
      '@extends',
      '@interfaceObject',
      '@composeDirective(name: "@lab")',
      '@authenticated',
      '@cost(weight: 2)',
      '@listSize(assumedSize: 10)',
      'resolvable: false',
    ]) {
      expect(annexSdl).toContain(used);
    }
    // Read-only subgraphs opt into nothing: no audit log, no unused framework directive.
    expect(`${labSdl}\n${annexSdl}`).not.toMatch(/AuditLog|AuditRecord|cacheControl/);
  });

  it('returns a federated trace (ftv1) in `extensions` when the request asks for it', async () => {
    const ask = (headers: Record<string, string>) =>
      postGraphQL(lab.url, '{ gizmos { id } }', undefined, (body) => ({ ...signedAs()(body), ...headers })) as Promise<{
        extensions?: { ftv1?: unknown };
      }>;
    const traced = await ask({ 'apollo-federation-include-trace': 'ftv1' });
    expect(typeof traced.extensions?.ftv1).toBe('string');
    expect((await ask({})).extensions?.ftv1).toBeUndefined();
  });
});
