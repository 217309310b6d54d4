import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ApolloServer } from '@apollo/server';
import express from 'express';
import { request } from 'undici';
import type { Server } from 'node:http';
import { apolloMiddleware, searchOf, weakEntityTag } from './apollo-middleware.js';
import { closeServer, listen } from './http.js';
import { jsonBody } from './json-body.js';

describe('searchOf', () => {
  it("is the URL's query string with its ?, without a fragment, or empty", () => {
    expect(searchOf('/graphql')).toBe('');
    expect(searchOf('/graphql?')).toBe('?');
    expect(searchOf('/graphql?query=%7B__typename%7D&x=1')).toBe('?query=%7B__typename%7D&x=1');
    expect(searchOf('/graphql?query=a#frag')).toBe('?query=a');
    expect(searchOf('/graphql#frag?not=this')).toBe('');
  });
});

describe('apolloMiddleware', () => {
  let server: Server;
  let url: string;
  let apollo: ApolloServer<{ caller: string }>;

  beforeAll(async () => {
    apollo = new ApolloServer<{ caller: string }>({
      typeDefs: 'type Query { hello: String caller: String }',
      resolvers: { Query: { hello: () => 'héllo, 日本', caller: (_: unknown, __: unknown, { caller }: { caller: string }) => caller } },
    });
    await apollo.start();
    const app = express();
    app.use(
      '/graphql',
      jsonBody({ limit: '1mb', maxDepth: 64 }),
      apolloMiddleware(apollo, async ({ req }) => ({ caller: req.get('x-caller') ?? 'nobody' })),
    );
    ({ server, url } = await listen(app, '127.0.0.1', 0));
    url = `${url}/graphql`;
  });

  afterAll(async () => {
    await closeServer(server);
    await apollo.stop();
  });

  it('answers a POST with the context it builds, as UTF-8 under its exact byte length', async () => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-caller': 'ada' },
      body: JSON.stringify({ query: '{ hello caller }' }),
    });
    const text = await response.text();
    expect(response.status).toBe(200);
    expect(JSON.parse(text)).toEqual({ data: { hello: 'héllo, 日本', caller: 'ada' } });
    expect(Number(response.headers.get('content-length'))).toBe(Buffer.byteLength(text));
    expect(response.headers.get('content-type')).toMatch(/^application\/(graphql-response\+)?json; charset=utf-8$/);
    expect(response.headers.get('etag')).toBeNull();
  });

  it('reads a GET operation from the query string, and its status and errors from Apollo', async () => {
    const get = await fetch(`${url}?query=${encodeURIComponent('{ hello }')}`, { headers: { 'apollo-require-preflight': 'true' } });
    expect(get.status).toBe(200);
    expect(await get.json()).toEqual({ data: { hello: 'héllo, 日本' } });
    const bad = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ nope }' }),
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe(
      'GRAPHQL_VALIDATION_FAILED',
    );
  });

  it("gives a GET answer Express's weak ETag of its bytes, and a matching If-None-Match a 304 without a body", async () => {
    const get = `${url}?query=${encodeURIComponent('{ hello }')}`;
    const first = await fetch(get, { headers: { 'apollo-require-preflight': 'true' } });
    const text = await first.text();
    expect(first.headers.get('etag')).toBe(weakEntityTag(text));
    expect(weakEntityTag(text)).toBe(weakEntityTag(Buffer.from(text)));
    // What Express's own `etag` module gives the same body.
    expect(weakEntityTag('{"a":1}')).toBe('W/"7-n4nHQM60bXQYySSnisV5QdXpZSA"');
    // Not through fetch, which adds `cache-control: no-cache` (never fresh).
    const unchanged = await request(get, { headers: { 'apollo-require-preflight': 'true', 'if-none-match': first.headers.get('etag')! } });
    expect(unchanged.statusCode).toBe(304);
    expect(await unchanged.body.text()).toBe('');
    const changed = await fetch(get, { headers: { 'apollo-require-preflight': 'true', 'if-none-match': 'W/"7-other"' } });
    expect(changed.status).toBe(200);
  });

  it('refuses every method but GET and POST with 405 and Allow, before Apollo Server (whose CSRF check would answer 400)', async () => {
    for (const method of ['HEAD', 'OPTIONS', 'PUT', 'DELETE', 'PATCH']) {
      // No content type and no preflight header: what Apollo Server would block as CSRF first.
      const response = await request(url, { method: method as 'PUT' });
      const text = await response.body.text();
      expect({ method, status: response.statusCode, allow: response.headers.allow }).toEqual({ method, status: 405, allow: 'GET, POST' });
      if (method === 'HEAD') expect(text).toBe('');
      else
        expect(JSON.parse(text)).toEqual({
          errors: [{ message: 'GraphQL is served over GET and POST only.', extensions: { code: 'BAD_REQUEST' } }],
        });
    }
  });
});
