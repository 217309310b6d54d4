import cors from 'cors';
import type { RequestHandler } from 'express';
import helmet from 'helmet';
import { Lexer, Source, TokenKind } from 'graphql';
import type { GatewayConfig } from '../../shared/config/config.js';
import { BadRequestError, BadUserInputError, ErrorCode, sendError, TesseraError } from '../../shared/errors/errors.js';
import { jsonNestingDepth, jsonTooDeep } from '../../shared/http/json-body.js';

/** Apollo Sandbox's origin, allowed in development so it can call a local gateway. */
const SANDBOX_ORIGIN = 'https://studio.apollographql.com';

/** Security headers on every response (the CSP only outside development, where Sandbox's page is served). */
export function securityHeaders(env: GatewayConfig['env']): RequestHandler {
  return helmet({ contentSecurityPolicy: env !== 'development', crossOriginEmbedderPolicy: false });
}

/** CORS from the configured allowlist (plus Sandbox in development); other origins get no CORS headers. */
export function corsPolicy(
  config: Pick<GatewayConfig, 'env'> & { protection: Pick<GatewayConfig['protection'], 'corsOrigins'> },
): RequestHandler {
  const origins = new Set([...config.protection.corsOrigins, ...(config.env === 'development' ? [SANDBOX_ORIGIN] : [])]);
  return cors({ origin: (origin, callback) => callback(null, origin ? origins.has(origin) : false), credentials: true, maxAge: 600 });
}

/**
 * Every GraphQL answer depends on who asks (`Authorization`: what they may see, and whether
 * the answer is private) and on `Accept` (Apollo picks the media type by it). Saying so in
 * `Vary` keeps a browser or a shared cache from handing one caller's answer to the next.
 * `res.vary` adds to what is there (CORS's `Origin`); Apollo sets no `Vary` of its own that
 * would replace it.
 */
export function varyByCaller(): RequestHandler {
  return (_req, res, next) => {
    res.vary('Accept').vary('Authorization');
    next();
  };
}

/** Tokens in a document, counting stops one past the limit; a lexing error is left to the parser to report. */
function countTokens(query: string, stopAfter: number): number {
  const lexer = new Lexer(new Source(query));
  let count = 0;
  try {
    while (lexer.advance().kind !== TokenKind.EOF) if (++count > stopAfter) break;
  } catch {
    // not a valid document: the parser will say why
  }
  return count;
}

/** A GET's `variables` and `extensions` (JSON text Apollo Server parses) nested deeper than the limit. */
function getJsonTooDeep(query: Record<string, unknown>, maxDepth: number): boolean {
  return [query.variables, query.extensions].flat().some((text) => typeof text === 'string' && jsonNestingDepth(text, maxDepth) > maxDepth);
}

/**
 * Refuses, after `jsonBody` (bodies over the size cap, 413; JSON nested too deep, counted on
 * its bytes) and before GraphQL parses anything: bodies that are not JSON (415), a GET's
 * `variables` and `extensions` nested too deep,
 * batches when batching is off or over its cap, NUL characters, documents over the byte or
 * token limits (in a POST body or a GET query string). Each with its own code.
 */
export function documentCheck(protection: GatewayConfig['protection']): RequestHandler {
  return (req, res, next) => {
    // A GET carries its operation in the query string (`query`, `variables` as JSON text): the same limits apply.
    const body: unknown = req.method === 'GET' ? req.query : req.body;
    const operations = Array.isArray(body) ? body : [body];
    let refusal: TesseraError | undefined;
    if (req.method === 'GET' && getJsonTooDeep(req.query, protection.maxJsonDepth)) {
      refusal = jsonTooDeep(protection.maxJsonDepth);
    } else if (req.method === 'POST' && body === undefined) {
      // express.json() parses only JSON; anything else would reach Apollo without a body.
      refusal = new BadRequestError('Send the operation as JSON, with Content-Type: application/json.', { status: 415 });
    } else if (Array.isArray(body) && protection.maxBatch <= 1) {
      refusal = new TesseraError('Batched requests are not accepted; send one operation per request.', ErrorCode.BATCHING_DISABLED);
    } else if (operations.length > protection.maxBatch) {
      refusal = new TesseraError(
        `A batch may hold at most ${protection.maxBatch} operations; this one holds ${operations.length}.`,
        ErrorCode.BATCH_LIMIT_EXCEEDED,
        {
          extensions: { actual: operations.length, limit: protection.maxBatch },
        },
      );
    } else {
      for (const operation of operations) {
        const { query, variables } = (operation ?? {}) as { query?: unknown; variables?: unknown };
        // PostgreSQL cannot hold NUL in text, and no client means to send one.
        if ((typeof query === 'string' && query.includes('\u0000')) || JSON.stringify(variables ?? null).includes('\\u0000')) {
          refusal = new BadUserInputError('NUL characters (U+0000) are not accepted in documents or variables.');
          break;
        }
        if (typeof query !== 'string') continue;
        const bytes = Buffer.byteLength(query);
        if (bytes > protection.maxDocumentBytes) {
          refusal = new TesseraError(
            `The document is ${bytes} bytes; at most ${protection.maxDocumentBytes} are allowed.`,
            ErrorCode.DOCUMENT_TOO_LARGE,
            {
              extensions: { actual: bytes, limit: protection.maxDocumentBytes },
            },
          );
          break;
        }
        const tokens = countTokens(query, protection.maxTokens);
        if (tokens > protection.maxTokens) {
          refusal = new TesseraError(`The document has more than ${protection.maxTokens} tokens.`, ErrorCode.MAX_TOKENS_EXCEEDED, {
            extensions: { limit: protection.maxTokens },
          });
          break;
        }
      }
    }
    if (!refusal) return next();
    sendError(res, refusal);
  };
}
