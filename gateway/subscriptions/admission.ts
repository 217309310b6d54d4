import { randomUUID } from 'node:crypto';
import { HeaderMap, type ApolloServer } from '@apollo/server';
import type { Request, RequestHandler, Response } from 'express';
import { decodeJwt } from 'jose';
import type { FormattedExecutionResult, GraphQLFormattedError } from 'graphql';
import { ErrorCode } from '../../shared/errors/codes.js';
import { jsonTooDeep } from '../../shared/http/json-body.js';
import { createRequestScope, runInRequestScope } from '../../shared/http/request-scope.js';
import type { Logger } from '../../shared/observability/logger.js';
import type { GatewayContext } from '../context.js';
import { NO_SUBGRAPH, type SubscriptionTransport } from './observer.js';

/** A subscribe request as a transport received it. */
export interface SubscribeRequest {
  body: { query?: unknown; variables?: unknown; operationName?: unknown; extensions?: unknown };
  /** The `Authorization` value the client gave (header, or `connection_init` payload). */
  authorization: string | undefined;
  clientIp: string;
  /** The client's request id when the transport has one (an HTTP request's). */
  requestId?: string;
  transport: SubscriptionTransport;
  /** Whether the HTTP guards already ran on `body` (SSE, multipart); a WebSocket message gets them here. */
  guarded: boolean;
}

export type Admission =
  /** An admitted subscription: its events, from `subgraph`. */
  | { stream: AsyncIterableIterator<FormattedExecutionResult>; requestId: string; subgraph: string }
  /** A query or mutation sent over the transport: answered once. */
  | { result: FormattedExecutionResult }
  | { errors: readonly GraphQLFormattedError[]; status: number };

export interface AdmissionOptions {
  apollo: ApolloServer<GatewayContext>;
  /** The GraphQL context of a request with this `Authorization` (what HTTP requests get). */
  contextFor(authorization: string | undefined): Promise<Omit<GatewayContext, 'subscription'>>;
  logger: Logger;
  /** The HTTP chain's operation guards (document limits, persisted queries, trusted documents), in its order. */
  guards: RequestHandler[];
  /** JSON nesting the HTTP body parser allows: a WebSocket message's payload is held to it too. */
  maxJsonDepth: number;
}

/**
 * Every transport's subscribe goes through Apollo Server's pipeline like any request: the
 * token, parsing and validation (with the shape limits), the cost limit, the rate limit's
 * charge and every plugin, in the same order. The executor leaves the admitted subscription's
 * stream in the context (`subscription`); a refusal is the response's errors and status.
 */
export function createAdmission({ apollo, contextFor, logger, guards, maxJsonDepth }: AdmissionOptions) {
  return function admit({
    body,
    authorization,
    clientIp,
    requestId = randomUUID(),
    transport,
    guarded,
  }: SubscribeRequest): Promise<Admission> {
    // No deadline: a subscription lives until it ends; each event's fetches get their own.
    const scope = createRequestScope({ requestId, logger, clientIp });
    return runInRequestScope(scope, async () => {
      // graphql-transport-ws wants a string `query`: a client sending only a persisted query's
      // hash sends an empty one, which means none.
      if (!guarded && body.query === '') delete body.query;
      const refusal = guarded
        ? undefined
        : nestedDeeperThan(body, maxJsonDepth)
          ? jsonTooDeepRefusal(maxJsonDepth)
          : await guardRefusal(guards, body);
      if (refusal) return refusal;
      const slot: NonNullable<GatewayContext['subscription']> = { transport };
      const headers = new HeaderMap([['content-type', 'application/json']]);
      if (authorization) headers.set('authorization', authorization);
      const response = await apollo.executeHTTPGraphQLRequest({
        httpGraphQLRequest: { method: 'POST', headers, search: '', body },
        context: async () => ({ ...(await contextFor(authorization)), subscription: slot }),
      });
      if (slot.stream) return { stream: slot.stream, requestId, subgraph: slot.subgraph ?? NO_SUBGRAPH };
      const text = response.body.kind === 'complete' ? response.body.string : '';
      let result: FormattedExecutionResult | undefined;
      try {
        result = JSON.parse(text) as FormattedExecutionResult;
      } catch {
        result = undefined;
      }
      const status = response.status ?? 200;
      if (result && status === 200 && 'data' in result) return { result };
      return {
        status,
        errors: result?.errors?.length
          ? result.errors
          : [{ message: 'This request could not be served.', extensions: { code: ErrorCode.BAD_REQUEST } }],
      };
    });
  };
}

export type Admit = ReturnType<typeof createAdmission>;

/** When a verified bearer token expires (epoch ms): a subscription it admitted ends then. */
export function tokenExpiry(authorization: string): number | undefined {
  const token = /^Bearer\s+(\S+)$/i.exec(authorization.trim())?.[1];
  const exp = token ? decodeJwt(token).exp : undefined;
  return exp === undefined ? undefined : exp * 1000;
}

/** Whether `value` nests arrays and objects deeper than `max` (walked without recursion: the value may be hostile). */
function nestedDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [at, depth] = stack.pop()!;
    if (at === null || typeof at !== 'object') continue;
    if (depth + 1 > max) return true;
    for (const child of Object.values(at)) stack.push([child, depth + 1]);
  }
  return false;
}

function jsonTooDeepRefusal(max: number): Extract<Admission, { errors: unknown }> {
  const error = jsonTooDeep(max);
  return { status: error.status, errors: [error.toJSON()] };
}

/**
 * Runs the HTTP chain's guards on an operation that came another way: each as Express calls
 * it, on a request holding only the parsed body (what they read), so the same checks refuse
 * it with the same errors. The first refusal is returned; a guard may rewrite the body (a
 * trusted document's id becomes its text), as on HTTP.
 */
async function guardRefusal(guards: RequestHandler[], body: SubscribeRequest['body']): Promise<Admission | undefined> {
  const req = { method: 'POST', body, query: {}, headers: {}, get: () => undefined } as unknown as Request;
  for (const guard of guards) {
    const refused = await new Promise<Admission | undefined>((resolve, reject) => {
      let status = 400;
      const res = {
        writeHead(code: number) {
          status = code;
          return res;
        },
        end(text: string) {
          resolve({ status, errors: (JSON.parse(text) as FormattedExecutionResult).errors ?? [] });
        },
      } as unknown as Response;
      try {
        void guard(req, res, (error?: unknown) => (error ? reject(error as Error) : resolve(undefined)));
      } catch (error) {
        reject(error as Error);
      }
    });
    if (refused) return refused;
  }
  return undefined;
}
