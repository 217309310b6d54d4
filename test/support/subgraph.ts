import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RedisConfig } from '../../shared/config/config.js';
import type { SubgraphConfig } from '../../shared/config/subgraph-config.js';
import type { Identity } from '../../shared/identity/identity.js';
import { signedRequestHeaders } from '../../shared/identity/signed-requests.js';
import { closeServer } from '../../shared/http/http.js';
import { currentRequestScope } from '../../shared/http/request-scope.js';
import type { Lifecycle } from '../../shared/lifecycle/lifecycle.js';
import { createLogger, type Logger } from '../../shared/observability/logger.js';
import { startSubgraph, type RunningSubgraph } from '../../shared/subgraph/boot.js';
import { hasStore, type SubgraphDefinition } from '../../shared/subgraph/definition.js';
import type { Orm } from '../../shared/store/orm.js';
import { TEST_SIGNING_SECRET, testSubgraphConfig } from './config.js';
import { freshStore } from './postgres.js';
import { startedForSuite } from './suite.js';

export const testLogger: Logger = createLogger('test', { logLevel: (process.env.LOG_LEVEL as 'info') ?? 'silent', env: 'test' });

export interface GraphQLResponse<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  data?: T | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
  /** The response's own extensions (`cost`, say). */
  extensions?: Record<string, any>;
}

/** Headers, or headers made from the exact body sent (a signature covers it). */
type RequestHeaders = Record<string, string> | ((body: string) => Record<string, string>);

/** POSTs a GraphQL request the way a client would. */
export async function postGraphQL<T = Record<string, any>>(
  url: string,
  query: string,
  variables?: Record<string, unknown>,
  headers: RequestHeaders = {},
): Promise<GraphQLResponse<T>> {
  return postBody<T>(url, JSON.stringify({ query, variables }), headers);
}

/** POSTs `body` exactly as given (a replayed or tampered request, say). */
export async function postBody<T = Record<string, any>>(
  url: string,
  body: string,
  headers: RequestHeaders = {},
): Promise<GraphQLResponse<T>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(typeof headers === 'function' ? headers(body) : headers) },
    body,
  });
  const answer = (await response.json()) as Omit<GraphQLResponse<T>, 'status' | 'headers'>;
  return { status: response.status, headers: response.headers, ...answer };
}

/** An answer as it came: status, headers, the text, and the body parsed from it (empty when it is not JSON). */
export interface RawAnswer<T = Record<string, any>> {
  status: number;
  headers: Headers;
  text: string;
  body: Omit<GraphQLResponse<T>, 'status' | 'headers'>;
}

/** POSTs `body` (a string as it is, anything else as JSON) and keeps whatever comes back, JSON or not. */
export async function postRaw<T = Record<string, any>>(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<RawAnswer<T>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return rawAnswer<T>(response);
}

/** Reads a response (a GET's, say) as `postRaw` does. */
export async function rawAnswer<T = Record<string, any>>(response: Response): Promise<RawAnswer<T>> {
  const text = await response.text();
  let parsed: RawAnswer<T>['body'] = {};
  try {
    parsed = JSON.parse(text) as RawAnswer<T>['body'];
  } catch {
    // left empty: the test's assertions on `body` say what was missing
  }
  return { status: response.status, headers: response.headers, text, body: parsed };
}

/** Signs a request for a subgraph as the gateway would, for `user` (anonymous by default). */
export const signedAs =
  (user: Identity | null = null) =>
  (body: string) =>
    signedRequestHeaders(TEST_SIGNING_SECRET, body, user);

export interface TestSubgraph extends Omit<RunningSubgraph, 'orm'> {
  name: string;
  /** The store; a storeless subgraph has none, and touching this throws saying so. */
  orm: Orm;
  /** Every SQL statement sent since the last `resetSql()` (but the jobs relay's polling of the outbox). */
  sql: string[];
  resetSql(): void;
  /** GraphQL requests this subgraph received since the last `resetRequests()`. */
  requests(): number;
  resetRequests(): void;
  query<T = Record<string, any>>(query: string, variables?: Record<string, unknown>, user?: Identity | null): Promise<GraphQLResponse<T>>;
  /** Closes the HTTP listener, as if the process went away; the store stays open. */
  stopServer(): Promise<void>;
  /** Listens again on the same port, as a restarted process would. */
  restartServer(): Promise<void>;
}

/**
 * Hears every SQL statement the opened store sends for a request from now on, at its logger, as
 * MikroORM's own tests do (`mockLogger` replaces the logger's writer); what the logger itself does
 * is unchanged. The process's own statements (the jobs relay's timer, workers) are not a request's.
 */
function captureSql(orm: Orm, sql: string[]): void {
  const logger = orm.config.getLogger();
  const logQuery = logger.logQuery.bind(logger);
  Object.assign(logger, {
    logQuery(context: Parameters<typeof logQuery>[0]) {
      if (currentRequestScope()) sql.push(context.formatted ?? context.query);
      logQuery(context);
    },
  });
}

function noStore(name: string): Orm {
  return new Proxy({} as Orm, {
    get: () => {
      throw new Error(`The ${name} subgraph is storeless: it has no store to query.`);
    },
  });
}

/**
 * A subgraph served over HTTP on a free port, on a fresh PostgreSQL database, migrated (and
 * seeded); with `redis`, its replay nonces are kept there (shared with replicas on the same one);
 * with `lifecycle`, it is started as `bin/subgraph.ts` starts it, and a signal to that lifecycle drains it.
 */
export async function startTestSubgraph(
  definition: SubgraphDefinition,
  {
    seed = true,
    redis,
    trust,
    lifecycle,
  }: { seed?: boolean; redis?: RedisConfig; trust?: SubgraphConfig['trust']; lifecycle?: Lifecycle } = {},
): Promise<TestSubgraph> {
  // A storeless subgraph gets no database.
  const { store, drop } = hasStore(definition)
    ? freshStore(definition.name)
    : { store: { kind: 'pglite', dataDir: 'memory://' } as const, drop: async () => undefined };
  const config = testSubgraphConfig(definition.name, store, { seedOnStart: seed, ...(redis && { redis }), ...(trust && { trust }) });
  const sql: string[] = [];
  const running = await startSubgraph({ definition, config, logger: testLogger, lifecycle });
  if (running.orm) captureSql(running.orm, sql);
  const { port } = running.server.address() as AddressInfo;
  let requests = 0;
  running.server.on('request', (req: IncomingMessage & { originalUrl?: string }) => {
    // Express has already routed the request by now, rewriting req.url; originalUrl keeps the path.
    if ((req.originalUrl ?? req.url)?.startsWith('/graphql')) requests++;
  });
  return {
    ...running,
    orm: running.orm ?? noStore(definition.name),
    name: definition.name,
    sql,
    resetSql: () => void sql.splice(0),
    requests: () => requests,
    resetRequests: () => void (requests = 0),
    // As the gateway would send it: signed, for the given caller (anonymous by default).
    query: (query, variables, user = null) => postGraphQL(running.url, query, variables, signedAs(user)),
    stopServer: () => closeServer(running.server, 0),
    async restartServer() {
      // A closed http.Server can listen again, keeping its handlers (the app, the request counter).
      await new Promise<void>((resolve, reject) => {
        running.server.once('error', reject);
        running.server.listen(port, '127.0.0.1', () => {
          running.server.off('error', reject);
          resolve();
        });
      });
    },
    async stop() {
      await running.stop();
      await drop();
    },
  };
}

/** `startTestSubgraph` before the enclosing suite's tests, stopped after them. */
export const subgraphForSuite = (...args: Parameters<typeof startTestSubgraph>): TestSubgraph =>
  startedForSuite(() => startTestSubgraph(...args));
