import { createHash } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { persistedQueryRefusal } from './apq-guard.js';

const QUERY = '{ categories { slug } }';
const HASH = createHash('sha256').update(QUERY).digest('hex');
const withExtension = (persistedQuery: unknown, query?: string) => ({ query, extensions: { persistedQuery } });

describe("the automatic persisted queries' guard", () => {
  it('lets through a request without the extension, a well-formed hash alone, and a hash with its own query', () => {
    expect(persistedQueryRefusal({ query: QUERY })).toBeUndefined();
    expect(persistedQueryRefusal({ query: QUERY, extensions: 'not an object' })).toBeUndefined();
    expect(persistedQueryRefusal(withExtension({ version: 1, sha256Hash: HASH }))).toBeUndefined();
    expect(persistedQueryRefusal(withExtension({ version: 1, sha256Hash: HASH }, QUERY))).toBeUndefined();
  });

  it.each([
    ['an extension that is not an object', [HASH], 'BAD_REQUEST'],
    ['another version', { version: 2, sha256Hash: HASH }, 'PERSISTED_QUERY_VERSION_NOT_SUPPORTED'],
    ['a hash that is not 64 lower-case hex digits', { version: 1, sha256Hash: HASH.toUpperCase() }, 'BAD_REQUEST'],
  ])('refuses %s with its own code', (_, persistedQuery, code) => {
    expect(persistedQueryRefusal(withExtension(persistedQuery))?.code).toBe(code);
  });

  it('refuses a hash that is not the hash of the query sent with it, and says which versions it speaks', () => {
    const otherQuery = withExtension({ version: 1, sha256Hash: HASH }, '{ __typename }');
    expect(persistedQueryRefusal(otherQuery)?.code).toBe('PERSISTED_QUERY_HASH_MISMATCH');
    expect(persistedQueryRefusal(withExtension({ version: 3, sha256Hash: HASH }))?.extensions).toEqual({
      supportedVersions: [1],
      code: 'PERSISTED_QUERY_VERSION_NOT_SUPPORTED',
    });
  });
});
