import type { IncomingMessage } from 'node:http';
import express, { type RequestHandler } from 'express';
import { BadRequestError, ErrorCode, TesseraError } from '../errors/errors.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACKET = 0x5b;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACKET = 0x5d;
const CLOSE_BRACE = 0x7d;

/**
 * How deeply arrays and objects nest in a JSON text, counted without parsing it: one pass
 * over the characters (or UTF-8 bytes, whose multi-byte sequences never hold an ASCII code),
 * `[` and `{` outside strings going in, `]` and `}` coming out. Stops counting as soon as
 * the depth passes `stopAbove`. A text that is not JSON gets some number; the parser says
 * what is wrong with it afterwards.
 */
export function jsonNestingDepth(text: string | Uint8Array, stopAbove = Infinity): number {
  const bytes = typeof text !== 'string';
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = bytes ? text[i]! : text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH)
        i++; // whatever is escaped, it neither ends the string nor nests
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === OPEN_BRACKET || c === OPEN_BRACE) {
      if (++depth > deepest && (deepest = depth) > stopAbove) return deepest;
    } else if (c === CLOSE_BRACKET || c === CLOSE_BRACE) {
      depth--;
    }
  }
  return deepest;
}

/** What refuses a JSON text nested deeper than `limit`. */
export function jsonTooDeep(limit: number): TesseraError {
  return new TesseraError(
    `JSON may nest arrays and objects at most ${limit} deep; this request nests them deeper.`,
    ErrorCode.MAX_JSON_DEPTH_EXCEEDED,
    {
      extensions: { limit },
    },
  );
}

/** A request whose body `jsonBody({ keepRaw: true })` kept as received (a signature covers those bytes). */
export type RawBodyRequest = IncomingMessage & { rawBody?: Buffer };

/**
 * `express.json()` that refuses, before the body is parsed, a body nested deeper than
 * `maxDepth` with 400 `MAX_JSON_DEPTH_EXCEEDED`. JSON.parse itself copes with any depth, but
 * what walks the parsed value afterwards (a NUL check through JSON.stringify, variable
 * coercion, loggers) recurses and overflows the stack on a few kilobytes of `[[[[…`.
 * Only UTF-8 is accepted (RFC 8259 §8.1), so the raw bytes can be counted as they are.
 */
export function jsonBody({
  limit,
  maxDepth,
  keepRaw = false,
}: {
  limit: number | string;
  maxDepth: number;
  keepRaw?: boolean;
}): RequestHandler {
  return express.json({
    limit,
    verify: (req, _res, body, encoding) => {
      if (encoding.toLowerCase() !== 'utf-8' && encoding.toLowerCase() !== 'utf8') {
        throw new BadRequestError('Send JSON encoded as UTF-8.', { status: 415 });
      }
      // body-parser hands what verify throws to the error handler (shared/http/http.ts), which sends it.
      if (jsonNestingDepth(body, maxDepth) > maxDepth) throw jsonTooDeep(maxDepth);
      if (keepRaw) (req as RawBodyRequest).rawBody = body;
    },
  });
}
