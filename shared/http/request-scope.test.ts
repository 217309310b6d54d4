import { describe, expect, it } from '@jest/globals';
import express from 'express';
import { pino } from 'pino';
import { closeServer, enterRequestScope, listen, REQUEST_ID_HEADER } from './http.js';
import { jsonBody } from './json-body.js';
import {
  createRequestScope,
  currentRequestScope,
  outsideRequestScope,
  requestScope,
  runInRequestScope,
  type RequestScope,
} from './request-scope.js';

/** An app behind the edge that answers what its handler, after the body parser and some waiting, sees of its scope. */
async function scopeEcho(timeoutMs?: number) {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  const app = express();
  app.use(enterRequestScope({ logger, timeoutMs }));
  app.post('/', jsonBody({ limit: '1mb', maxDepth: 10 }), async (req, res) => {
    const { wait } = req.body as { wait: number };
    await new Promise((resolve) => setTimeout(resolve, wait));
    await Promise.resolve();
    const scope = requestScope();
    scope.logger.info('answered');
    res.json({ requestId: scope.requestId, deadline: scope.deadline ?? null, clientIp: scope.clientIp });
  });
  const { server, url } = await listen(app, '127.0.0.1', 0);
  return { url, lines, close: () => closeServer(server) };
}

const post = (url: string, body: object, requestId?: string) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(requestId && { [REQUEST_ID_HEADER]: requestId }) },
    body: JSON.stringify(body),
  });

describe('the request scope', () => {
  it("is each request's own: concurrent requests, finishing in another order than they came, never see each other's", async () => {
    const echo = await scopeEcho();
    try {
      const ids = Array.from({ length: 20 }, (_, i) => `request-${i}`);
      const answers = await Promise.all(
        ids.map(async (id, i) => {
          const response = await post(echo.url, { wait: (ids.length - i) * 3 }, id);
          return { header: response.headers.get(REQUEST_ID_HEADER), body: (await response.json()) as { requestId: string } };
        }),
      );
      expect(answers.map(({ header }) => header)).toEqual(ids);
      expect(answers.map(({ body }) => body.requestId)).toEqual(ids);
      // Each request's logger is bound to its own id.
      expect(echo.lines.map((line) => line.requestId).sort()).toEqual([...ids].sort());
    } finally {
      await echo.close();
    }
  });

  it('gets a fresh id when the caller sends none or an unusable one, echoed back', async () => {
    const echo = await scopeEcho();
    try {
      for (const given of [undefined, 'has spaces in it', 'x'.repeat(129)]) {
        const response = await post(echo.url, { wait: 0 }, given);
        const { requestId } = (await response.json()) as { requestId: string };
        expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
        expect(response.headers.get(REQUEST_ID_HEADER)).toBe(requestId);
      }
    } finally {
      await echo.close();
    }
  });

  it("carries the deadline from the request's arrival when the process has a request timeout, and the client's address", async () => {
    const withTimeout = await scopeEcho(5_000);
    const without = await scopeEcho();
    try {
      const before = Date.now();
      const timed = (await (await post(withTimeout.url, { wait: 0 })).json()) as { deadline: number; clientIp: string };
      expect(timed.deadline).toBeGreaterThanOrEqual(before + 5_000);
      expect(timed.deadline).toBeLessThanOrEqual(Date.now() + 5_000);
      expect(timed.clientIp).toMatch(/127\.0\.0\.1/);
      expect(((await (await post(without.url, { wait: 0 })).json()) as { deadline: null }).deadline).toBeNull();
    } finally {
      await withTimeout.close();
      await without.close();
    }
  });

  it('is absent outside a request: the optional accessor says so, the other refuses', async () => {
    expect(currentRequestScope()).toBeUndefined();
    expect(() => requestScope()).toThrow(/No request scope/);
    const scope = createRequestScope({ requestId: 'in-process', logger: pino({ level: 'silent' }), clientIp: '::1' });
    const seen = await runInRequestScope(scope, async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      return requestScope();
    });
    expect(seen).toBe(scope);
    expect(currentRequestScope()).toBeUndefined();
  });

  it('is left for work a request only sets off, and everything that work starts', async () => {
    const scope = createRequestScope({ requestId: 'sets-off', logger: pino({ level: 'silent' }), clientIp: '::1' });
    const [inside, outside, later] = await runInRequestScope(scope, async () => {
      const set = outsideRequestScope(
        () => new Promise<RequestScope | undefined>((resolve) => setTimeout(() => resolve(currentRequestScope()), 1)),
      );
      return [currentRequestScope(), outsideRequestScope(() => currentRequestScope()), await set];
    });
    expect(inside).toBe(scope);
    expect(outside).toBeUndefined();
    expect(later).toBeUndefined();
  });
});
