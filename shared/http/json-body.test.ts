import { describe, expect, it } from '@jest/globals';
import express from 'express';
import { closeServer, graphqlErrorHandler, listen } from './http.js';
import { jsonBody, jsonNestingDepth } from './json-body.js';
import { createLogger } from '../observability/logger.js';

describe('jsonNestingDepth', () => {
  it('counts arrays and objects, in text and in UTF-8 bytes alike', () => {
    for (const [text, depth] of [
      ['1', 0],
      ['{}', 1],
      ['[[],[[]]]', 3],
      ['{"a":{"b":[{"c":1}]}}', 4],
      ['{"é":{"ü":["日本"]}}', 3],
    ] as const) {
      expect(jsonNestingDepth(text)).toBe(depth);
      expect(jsonNestingDepth(Buffer.from(text))).toBe(depth);
    }
  });

  it('does not count brackets inside strings, escaped quotes included', () => {
    expect(jsonNestingDepth(JSON.stringify({ a: '[[[{{{', b: 'say "[" \\ [' }))).toBe(1);
    expect(jsonNestingDepth(Buffer.from(JSON.stringify(['\\"[[['])))).toBe(1);
  });

  it('stops once past the limit, without recursion, however deep', () => {
    const deep = '['.repeat(1_000_000);
    expect(jsonNestingDepth(deep, 64)).toBe(65);
    expect(jsonNestingDepth(deep)).toBe(1_000_000);
  });
});

describe('jsonBody', () => {
  it('refuses a body nested too deep with 400 MAX_JSON_DEPTH_EXCEEDED before parsing it, JSON that is not an object or not JSON with 400, and non-UTF-8 JSON with 415', async () => {
    const app = express();
    app.post('/', jsonBody({ limit: '1mb', maxDepth: 3 }), (req, res) => void res.json({ got: req.body }));
    app.use(graphqlErrorHandler(createLogger('test', { logLevel: 'silent', env: 'test' })));
    const { server, url } = await listen(app, '127.0.0.1', 0);
    const post = async (body: string | Buffer, contentType = 'application/json') => {
      const response = await fetch(url, { method: 'POST', headers: { 'content-type': contentType }, body });
      return { status: response.status, body: (await response.json()) as Record<string, any> };
    };
    try {
      expect(await post('{"a":[{"b":1}]}')).toEqual({ status: 200, body: { got: { a: [{ b: 1 }] } } });
      expect(await post('{"a":[{"b":1}]}', 'application/json; charset=UTF-8')).toEqual({ status: 200, body: { got: { a: [{ b: 1 }] } } });
      expect(await post('{"a":[[{"b":1}]]}')).toEqual({
        status: 400,
        body: { errors: [{ message: expect.stringMatching(/at most 3 deep/), extensions: { code: 'MAX_JSON_DEPTH_EXCEEDED', limit: 3 } }] },
      });
      expect((await post(`{"a":${'['.repeat(100_000)}`)).body.errors[0].extensions.code).toBe('MAX_JSON_DEPTH_EXCEEDED');
      for (const scalar of ['null', '"query"', '1', 'true']) {
        expect(await post(scalar)).toEqual({
          status: 400,
          body: {
            errors: [
              { message: 'The request body is JSON but not an object (or an array, for a batch).', extensions: { code: 'BAD_REQUEST' } },
            ],
          },
        });
      }
      expect(await post('{"a": ')).toEqual({
        status: 400,
        body: { errors: [{ message: 'The request body is not valid JSON.', extensions: { code: 'BAD_REQUEST' } }] },
      });
      const utf16 = await post(Buffer.from('{"a":1}', 'utf16le'), 'application/json; charset=utf-16le');
      expect(utf16).toEqual({
        status: 415,
        body: { errors: [{ message: 'Send JSON encoded as UTF-8.', extensions: { code: 'BAD_REQUEST' } }] },
      });
    } finally {
      await closeServer(server);
    }
  });
});
