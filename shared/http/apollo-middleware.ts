import { hash } from 'node:crypto';
import { HeaderMap, type ApolloServer, type BaseContext } from '@apollo/server';
import type { Request, RequestHandler, Response } from 'express';
import { BadRequestError, sendError } from '../errors/errors.js';

/**
 * GraphQL over HTTP's methods. Apollo Server refuses any other (HEAD, PUT, an OPTIONS that is not
 * an allowed CORS preflight) only after its CSRF check, so as a CSRF 400 when no content type is sent.
 */
const GRAPHQL_METHODS = 'GET, POST';

/**
 * Apollo Server mounted on Express through its integration interface
 * (`executeHTTPGraphQLRequest`), as `@as-integrations/express5` mounts it, less two costs that
 * integration pays on every request: the query string read with the legacy `url.parse`, and a
 * complete answer sent with `res.send`, which copies the string into a Buffer and hashes it for
 * an ETag before writing it. Here the search is the URL's tail from its `?`, and the answer goes
 * out with `res.end` under its byte length. Only a GET answer gets an ETag, Express's weak one,
 * and a 304 when the client's `If-None-Match` holds it: a POST cannot be revalidated, so
 * hashing its answer bought nothing. Other methods are refused with 405 and `Allow` before
 * Apollo Server sees them. A streamed answer (incremental delivery) is written
 * chunk by chunk, flushed after each. Needs `req.body` (a JSON body parser mounted before it).
 */
export function apolloMiddleware<TContext extends BaseContext>(
  server: ApolloServer<TContext>,
  context: (args: { req: Request; res: Response }) => Promise<TContext>,
): RequestHandler {
  server.assertStarted('apolloMiddleware()');
  return async (req, res) => {
    if (req.method !== 'GET' && req.method !== 'POST') {
      sendError(res, new BadRequestError('GraphQL is served over GET and POST only.', { status: 405 }), { allow: GRAPHQL_METHODS });
      return;
    }
    if (!('body' in req)) throw new Error('`req.body` is not set: mount a JSON body parser before the Apollo middleware.');
    const headers = new HeaderMap();
    for (const key in req.headers) {
      const value = req.headers[key];
      if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
    }
    const answer = await server.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: req.method, headers, search: searchOf(req.url), body: req.body },
      context: () => context({ req, res }),
    });
    for (const [key, value] of answer.headers) res.setHeader(key, value);
    res.statusCode = answer.status ?? 200;
    if (answer.body.kind === 'complete') {
      const contentType = res.getHeader('content-type');
      // What res.send would have made of it: a string is UTF-8, and says so.
      if (typeof contentType === 'string' && !contentType.includes('charset'))
        res.setHeader('content-type', `${contentType}; charset=utf-8`);
      const body = answer.body.string;
      if (req.method === 'GET' && res.statusCode >= 200 && res.statusCode < 300) {
        res.setHeader('etag', weakEntityTag(body));
        if (req.fresh) {
          res.statusCode = 304;
          res.removeHeader('content-type');
          res.end();
          return;
        }
      }
      res.setHeader('content-length', Buffer.byteLength(body));
      res.end(body);
      return;
    }
    for await (const chunk of answer.body.asyncIterator) {
      res.write(chunk);
      (res as Response & { flush?: () => void }).flush?.();
    }
    res.end();
  };
}

/** The URL's query string with its `?` (what Apollo reads a GET operation from), or ''; a fragment is not part of it. */
export function searchOf(url: string): string {
  const hash = url.indexOf('#');
  const path = hash < 0 ? url : url.slice(0, hash);
  const start = path.indexOf('?');
  return start < 0 ? '' : path.slice(start);
}

/**
 * The weak ETag Express gives a body (its default `etag` setting): the length in hex and the
 * first 27 characters of the base64 SHA-1 of its UTF-8 bytes.
 */
export function weakEntityTag(body: string | Buffer): string {
  return `W/"${Buffer.byteLength(body).toString(16)}-${hash('sha1', body, 'base64').slice(0, 27)}"`;
}
