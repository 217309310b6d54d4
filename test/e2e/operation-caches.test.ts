import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { scrape } from '../support/metrics.js';
import { postRaw } from '../support/subgraph.js';
import { supergraphForSuite } from '../support/supergraph.js';

/*
 * The gateway's per-document caches (query plans, parsed documents, persisted queries without
 * Redis) hold at most OPERATION_CACHE_MAX_ENTRIES each: a client sending a new document with
 * every request cannot grow the heap without end (Apollo's own bounds, 30 MiB of JSON each,
 * let the soak benchmark's gateway grow by hundreds of MiB).
 */

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
/** Distinct documents: the alias makes each text (and so each cache key) new. */
const documentNumber = (n: number) => `{ categories { name d${n}: slug } }`;

describe('per-document caches are bounded by OPERATION_CACHE_MAX_ENTRIES', () => {
  const supergraph = supergraphForSuite({ responseCache: false });
  let bounded: { url: string; metricsUrl: string | undefined };

  beforeAll(async () => {
    bounded = await supergraph.startGateway({ responseCache: false, operationCacheMaxEntries: 3 });
  });

  const post = async (url: string, body: object) => (await postRaw(url, body)).body;
  const plans = async (metricsUrl: string) => {
    const scraped = await scrape(metricsUrl);
    return {
      hit: scraped.value('tessera_gateway_query_plan_cache_total', { result: 'hit' }) ?? 0,
      miss: scraped.value('tessera_gateway_query_plan_cache_total', { result: 'miss' }) ?? 0,
    };
  };

  it('plans a document again once more documents than the bound came after it', async () => {
    for (const gateway of [bounded, { url: supergraph.url, metricsUrl: supergraph.metricsUrl }]) {
      const before = await plans(gateway.metricsUrl!);
      // The first document, four others, the first again.
      for (const n of [1, 2, 3, 4, 5, 1]) expect((await post(gateway.url, { query: documentNumber(n) })).errors).toBeUndefined();
      const after = await plans(gateway.metricsUrl!);
      const planned = { hit: after.hit - before.hit, miss: after.miss - before.miss };
      // Bounded at 3, the first document's plan was dropped; at the default (1000) it was kept.
      expect(planned).toEqual(gateway === bounded ? { hit: 0, miss: 6 } : { hit: 1, miss: 5 });
    }
  });

  it('forgets a persisted query (memory, no Redis) once more than the bound were registered after it', async () => {
    const register = (query: string) =>
      post(bounded.url, { query, extensions: { persistedQuery: { version: 1, sha256Hash: sha256(query) } } });
    const byHash = (query: string) => post(bounded.url, { extensions: { persistedQuery: { version: 1, sha256Hash: sha256(query) } } });
    for (const n of [11, 12, 13, 14]) expect((await register(documentNumber(n))).errors).toBeUndefined();
    expect((await byHash(documentNumber(14))).data?.categories).toEqual(expect.any(Array));
    expect((await byHash(documentNumber(11))).errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_FOUND');
  });
});
