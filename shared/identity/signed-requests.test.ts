import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import type { Identity } from './identity.js';
import { IDENTITY_HEADER, SIGNATURE_HEADER, signedRequestHeaders, verifySignedRequest, type ReceivedRequest } from './signed-requests.js';
import { createLogger } from '../observability/logger.js';
import { MemoryNonceStore, nonceKey, RedisNonceStore, type NonceStore } from './nonce-store.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const SECRET = 'unit-test-signing-secret-0123456789abcdef';
const WINDOW_MS = 60_000;
const admin: Identity = { userId: 'user-ada', username: 'ada', roles: ['admin'], scopes: ['accounts:admin', 'audit:read'] };
const quiet = createLogger('test', { logLevel: 'silent', env: 'test' });

const ME = JSON.stringify({ query: '{ me { username } }' });
const EVERY_EMAIL = JSON.stringify({ query: '{ users(first: 100) { edges { node { email } } } }' });

/** The request a subgraph receives when `headers` and `body` arrive (null: no body at all). */
const received = (headers: Record<string, string>, body: string | null = ME): ReceivedRequest => ({
  identity: headers[IDENTITY_HEADER],
  signature: headers[SIGNATURE_HEADER],
  requestId: headers['x-request-id'],
  body: body === null ? undefined : Buffer.from(body),
});

const verify = (request: ReceivedRequest, nonces: NonceStore, now?: number) =>
  verifySignedRequest(SECRET, request, { maxAgeMs: WINDOW_MS, nonces, now });

describe('the gateway signature covers who asks and what', () => {
  it('accepts a request signed for its body, request id and time, once', async () => {
    const nonces = new MemoryNonceStore();
    const headers = signedRequestHeaders(SECRET, ME, admin, 'req-1');
    await expect(verify(received(headers), nonces)).resolves.toEqual(admin);
    await expect(verify(received(signedRequestHeaders(SECRET, ME), ME), nonces)).resolves.toBeNull();
  });

  it('refuses the captured headers with another body (every email, as an admin)', async () => {
    const headers = signedRequestHeaders(SECRET, ME, admin, 'req-2');
    await expect(verify(received(headers, EVERY_EMAIL), new MemoryNonceStore())).rejects.toThrow(
      'The request body is not the one the gateway signed.',
    );
    // One byte more (whitespace JSON would ignore) is another body too.
    await expect(verify(received(headers, `${ME} `), new MemoryNonceStore())).rejects.toThrow(/not the one the gateway signed/);
  });

  it('refuses the same request replayed verbatim, and a request without a body', async () => {
    const nonces = new MemoryNonceStore();
    const headers = signedRequestHeaders(SECRET, ME, admin, 'req-3');
    await verify(received(headers), nonces);
    await expect(verify(received(headers), nonces)).rejects.toThrow('This signed request was already served: a replay is refused.');
    await expect(verify(received(signedRequestHeaders(SECRET, ''), null), nonces)).rejects.toThrow(/with a JSON body/);
  });

  it('refuses a request without its request id, or under another one', async () => {
    const { 'x-request-id': _omitted, ...withoutId } = signedRequestHeaders(SECRET, ME, admin, 'req-4');
    await expect(verify(received(withoutId), new MemoryNonceStore())).rejects.toThrow(/carries no x-request-id/);
    const other = { ...signedRequestHeaders(SECRET, ME, admin, 'req-5'), 'x-request-id': 'req-6' };
    await expect(verify(received(other), new MemoryNonceStore())).rejects.toThrow(/another request id/);
  });

  it('refuses a time outside the window either way, a forged identity and another secret', async () => {
    const now = Date.now();
    const nonces = new MemoryNonceStore();
    await expect(verify(received(signedRequestHeaders(SECRET, ME, admin, 'r', now - WINDOW_MS - 1)), nonces, now)).rejects.toThrow(
      /away from this subgraph's clock/,
    );
    await expect(verify(received(signedRequestHeaders(SECRET, ME, admin, 'r', now + WINDOW_MS + 1)), nonces, now)).rejects.toThrow(
      /away from this subgraph's clock/,
    );
    await expect(verify(received(signedRequestHeaders('another-secret-0123456789abcdef-0123', ME, admin)), nonces)).rejects.toThrow(
      /does not verify/,
    );
    const anonymous = signedRequestHeaders(SECRET, ME);
    const payload = JSON.parse(Buffer.from(anonymous[IDENTITY_HEADER]!, 'base64url').toString());
    const promoted = { ...anonymous, [IDENTITY_HEADER]: Buffer.from(JSON.stringify({ ...payload, user: admin })).toString('base64url') };
    await expect(verify(received(promoted), nonces)).rejects.toThrow(/does not verify/);
    await expect(verify(received({}), nonces)).rejects.toThrow(/only answers requests signed by the gateway/);
  });

  it('uses a nonce only for a request that passed every other check', async () => {
    const nonces = new MemoryNonceStore();
    const headers = signedRequestHeaders(SECRET, ME, admin, 'req-7');
    await expect(verify(received(headers, EVERY_EMAIL), nonces)).rejects.toThrow(/body/);
    expect(nonces.size).toBe(0);
    await expect(verify(received(headers), nonces)).resolves.toEqual(admin);
  });
});

describe('nonce stores', () => {
  describe('in memory', () => {
    it('refuses a nonce seen within the ttl, forgets it after, and holds no more than one window', async () => {
      let now = 1_000_000;
      const store = new MemoryNonceStore(() => now);
      expect(await store.claim('a', 1000)).toBe(true);
      expect(await store.claim('a', 1000)).toBe(false);
      for (let i = 0; i < 500; i++) expect(await store.claim(`n${i}`, 1000)).toBe(true);
      expect(store.size).toBe(501);
      now += 1001;
      // The window passed: the next claim prunes everything older; 'a' may be claimed again.
      expect(await store.claim('a', 1000)).toBe(true);
      expect(store.size).toBe(1);
    });
  });

  describe('on Redis', () => {
    const prefix = `nonce-test-${randomBytes(4).toString('hex')}:`;
    let redis: Redis;
    beforeAll(() => {
      redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    });
    afterAll(async () => {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length) await redis.del(...keys);
      redis.disconnect();
    });

    it('refuses a request replayed to another replica (each with its own memory) on the same Redis', async () => {
      const replicaA = new RedisNonceStore(redis, prefix, quiet);
      const replicaB = new RedisNonceStore(redis, prefix, quiet);
      const headers = signedRequestHeaders(SECRET, ME, admin, 'req-r1');
      await expect(verify(received(headers), replicaA)).resolves.toEqual(admin);
      await expect(verify(received(headers), replicaB)).rejects.toThrow(/already served/);
      await expect(verify(received(headers), replicaA)).rejects.toThrow(/already served/);
      // Kept twice the window: a signed time up to the window ahead is accepted that long.
      const nonce = JSON.parse(Buffer.from(headers[IDENTITY_HEADER]!, 'base64url').toString()).nonce as string;
      const ttl = await redis.pttl(nonceKey(prefix, nonce));
      expect(ttl).toBeGreaterThan(2 * WINDOW_MS - 10_000);
      expect(ttl).toBeLessThanOrEqual(2 * WINDOW_MS);
    });

    it('expires a nonce after its ttl (SET NX PX)', async () => {
      const store = new RedisNonceStore(redis, prefix, quiet);
      expect(await store.claim('short', 50)).toBe(true);
      expect(await new RedisNonceStore(redis, prefix, quiet).claim('short', 50)).toBe(false);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await new RedisNonceStore(redis, prefix, quiet).claim('short', 50)).toBe(true);
    });

    it('still refuses a replay to the same process while Redis is unreachable', async () => {
      // Nothing listens on port 1; commands fail at once (no offline queue).
      const away = new Redis({
        port: 1,
        host: '127.0.0.1',
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        lazyConnect: true,
        retryStrategy: () => null,
      });
      away.on('error', () => undefined);
      try {
        const store = new RedisNonceStore(away, prefix, quiet);
        const headers = signedRequestHeaders(SECRET, ME, admin, 'req-r2');
        await expect(verify(received(headers), store)).resolves.toEqual(admin);
        await expect(verify(received(headers), store)).rejects.toThrow(/already served/);
      } finally {
        away.disconnect();
      }
    });
  });
});
