import { describe, expect, it } from '@jest/globals';
import { supergraphForSuite } from '../support/supergraph.js';

interface HostileRequest {
  kind: string;
  method?: string;
  contentType?: string;
  body?: string;
  query?: string;
}

const json = (value: unknown) => JSON.stringify(value);
const pick = <T>(items: T[], i: number) => items[i % items.length]!;

/** At least 1,000 requests that are broken or mean harm, a hundred or so of each kind. */
function hostileRequests(): HostileRequest[] {
  const requests: HostileRequest[] = [];
  const add = (kind: string, count: number, make: (i: number) => Omit<HostileRequest, 'kind'>) => {
    for (let i = 0; i < count; i++) requests.push({ kind, ...make(i) });
  };
  add('invalid JSON', 100, (i) => ({
    body: pick(
      [
        '{',
        '{"query": ',
        '{"query": "{ categories { slug } }"',
        'null x',
        '[1,',
        '{"query": "\\x"}',
        "{'query': 1}",
        '{"a":' + '['.repeat(i + 1),
      ],
      i,
    ),
  }));
  add('wrong content type', 100, (i) => ({
    contentType: pick(
      ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', 'text/html'],
      i,
    ),
    body: json({ query: '{ categories { slug } }' }),
  }));
  add('not an operation', 100, (i) => ({
    body: pick(
      [
        json({}),
        json({ query: 42 }),
        json({ query: null }),
        json({ variables: {} }),
        json('a string'),
        json(7),
        json({ query: ['{ a }'] }),
        json({ query: '' }),
      ],
      i,
    ),
  }));
  add('huge strings', 100, (i) => ({ body: json({ query: `{ product(upc: "${'9'.repeat(200_000 + i)}") { name } }` }) }));
  add('deep nesting', 100, (i) => {
    const depth = 13 + i;
    return {
      body: json({
        query: `{ ${'products(first: 1) { edges { node { '.repeat(1)}${'category { '.repeat(depth)}name${' }'.repeat(depth)} } } } }`,
      }),
    };
  });
  add('alias bombs', 100, (i) => ({
    body: json({ query: `{ ${Array.from({ length: 40 + i }, (_, n) => `a${n}: categories { slug }`).join(' ')} }` }),
  }));
  add('fragment cycles', 100, (i) => ({
    body: json({
      query: `{ categories { ...A${i} } } fragment A${i} on Category { name ...B${i} } fragment B${i} on Category { slug ...A${i} }`,
    }),
  }));
  add('unknown operations', 100, (i) => ({ body: json({ query: 'query Known { categories { slug } }', operationName: `Unknown${i}` }) }));
  add('null bytes', 100, (i) => ({
    body: pick(
      [
        json({ query: '{ categories\u0000 { slug } }' }),
        json({ query: '\u0000' }),
        json({ query: `{ product(upc: "\u0000${i}") { name } }`, extra: '\u0000' }),
        '{"query": "{ categories { slug } }"}\u0000',
      ],
      i,
    ),
  }));
  add('giant variables', 100, (i) =>
    i % 2
      ? { body: json({ query: 'query($f: Int) { products(first: $f) { totalCount } }', variables: { f: 'x'.repeat(50_000) } }) }
      : { body: json({ query: '{ categories { slug } }', variables: { deep: Array.from({ length: 20_000 }, (_, n) => ({ n })) } }) },
  );
  add('batches', 30, () => ({ body: json(Array.from({ length: 50 }, () => ({ query: '{ categories { slug } }' }))) }));
  add('bad methods', 30, (i) => ({ method: pick(['PUT', 'DELETE', 'PATCH'], i), body: json({ query: '{ categories { slug } }' }) }));
  add('mutation over GET', 20, () => ({ method: 'GET', query: `?query=${encodeURIComponent('mutation { logout }')}` }));
  return requests;
}

describe('a gateway under hostile input', () => {
  const supergraph = supergraphForSuite({ responseCache: false });

  it('answers every broken or hostile request with a 4xx and a GraphQL error, and keeps serving', async () => {
    const requests = hostileRequests();
    expect(requests.length).toBeGreaterThanOrEqual(1000);
    const failures: string[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < requests.length) {
          const request = requests[next++]!;
          const response = await fetch(`${supergraph.url}${request.query ?? ''}`, {
            method: request.method ?? 'POST',
            headers: {
              'content-type': request.contentType ?? 'application/json',
              'apollo-require-preflight': request.method === 'GET' ? 'true' : '',
            },
            body: request.method === 'GET' ? undefined : request.body,
          });
          const text = await response.text();
          let errors: unknown;
          try {
            errors = (JSON.parse(text) as { errors?: unknown }).errors;
          } catch {
            errors = undefined;
          }
          const graphQLError =
            Array.isArray(errors) && errors.length > 0 && typeof (errors[0] as { message?: unknown }).message === 'string';
          if (response.status < 400 || response.status >= 500 || !graphQLError)
            failures.push(`${request.kind}: ${response.status} ${text.slice(0, 120)}`);
        }
      }),
    );
    expect(failures).toEqual([]);

    const { status, data, errors } = await supergraph.query(`{ topProducts(first: 2) { name inStock averageRating } }`);
    expect(errors).toBeUndefined();
    expect(status).toBe(200);
    expect(data?.topProducts).toHaveLength(2);
  });
});
