import { AsyncLocalStorage } from 'node:async_hooks';
import type { Identity } from '../identity/identity.js';
import type { Logger } from '../observability/logger.js';

/**
 * What belongs to one HTTP request from its arrival to its answer, set at the edge
 * (`enterRequestScope` in ./http.ts) for the gateway and the subgraphs alike. The GraphQL
 * context carries GraphQL data only; code below the resolvers and plugins (the ORM's logger,
 * DataLoader batches, the subgraph fetcher) reads the request's id, logger and deadline here.
 */
export interface RequestScope {
  /** The caller's `x-request-id` when it is sane, else one made for it; echoed back, signed into subgraph calls. */
  readonly requestId: string;
  /** The process's logger with `requestId` bound. */
  readonly logger: Logger;
  /** When the process gives up on the request (epoch ms); undefined where no request timeout applies (subgraphs). */
  readonly deadline: number | undefined;
  /** The client's address (X-Forwarded-For is honoured only from the app's trusted proxies). */
  readonly clientIp: string;
  /**
   * The caller its bearer token proves, verified once per request (the gateway asks twice:
   * its response cache's fast path, then the GraphQL context); set by `authenticatedCaller`.
   */
  caller?: Promise<Identity | null>;
}

// Each request runs in a scope of its own: async context follows it through awaits, timers and the body parser.
const scopes = new AsyncLocalStorage<RequestScope>();

export interface RequestScopeInput {
  requestId: string;
  /** The process's logger; the scope's is its child with the request id. */
  logger: Logger;
  /** How long the process works on a request, from now; unset: no deadline. */
  timeoutMs?: number;
  clientIp: string;
}

/** The scope of a request arriving now (the HTTP edge's; in-process tests build theirs so). */
export function createRequestScope({ requestId, logger, timeoutMs, clientIp }: RequestScopeInput): RequestScope {
  return {
    requestId,
    logger: logger.child({ requestId }),
    deadline: timeoutMs === undefined ? undefined : Date.now() + timeoutMs,
    clientIp,
  };
}

/** Runs `work` (and everything it starts) in `scope`. */
export function runInRequestScope<T>(scope: RequestScope, work: () => T): T {
  return scopes.run(scope, work);
}

/** Runs `work` (and everything it starts) outside any request's scope: work a request only sets off, that must not count as its own. */
export function outsideRequestScope<T>(work: () => T): T {
  return scopes.exit(work);
}

/** The scope of the request the code runs for; undefined outside one (startup, migrations, seeding, timers of the process). */
export function currentRequestScope(): RequestScope | undefined {
  return scopes.getStore();
}

/** The scope of the request the code runs for, where there always is one (middleware behind the edge, plugins, resolvers). */
export function requestScope(): RequestScope {
  const scope = scopes.getStore();
  if (!scope) throw new Error('No request scope: this runs only within a request the HTTP edge entered (enterRequestScope).');
  return scope;
}
