import { ApolloServer } from '@apollo/server';
import { expressMiddleware } from '@as-integrations/express5';
import { buildSubgraphSchema, printSubgraphSchema } from '@apollo/subgraph';
import { printSchemaWithDirectives } from '@graphql-tools/utils';
import express, { type Express, type Request } from 'express';
import { DirectiveLocation, GraphQLBoolean, GraphQLDirective, GraphQLEnumType, GraphQLError, GraphQLInt, isObjectType, type GraphQLSchema } from 'graphql';
import type { Server } from 'node:http';
import type { Registry } from 'prom-client';
import { buildSchema, createResolversMap, type NonEmptyArray } from 'type-graphql';
import type { SubgraphConfig } from '../config/subgraph-config.js';
import type { Identity } from '../identity/identity.js';
import type { StorelessContext, SubgraphContext } from './context.js';
import { auditMutations, createAuditLogResolver } from './audit.js';
import { withFederationLink, type FederationOptions } from './federation.js';
import { enforceAuthorization } from './auth-directives.js';
import { newCacheTags, useCacheTags } from '../cache-tags/cache-tags.js';
import { createFormatError, ErrorCode } from '../errors/errors.js';
import { toTesseraError } from './resolver-errors.js';
import { closeServer, enterRequestScope, graphqlErrorHandler, healthRoutes, listen, REQUEST_ID_HEADER } from '../http/http.js';
import { requestScope } from '../http/request-scope.js';
import { IDENTITY_HEADER, SIGNATURE_HEADER, verifySignedRequest } from '../identity/signed-requests.js';
import type { Lifecycle } from '../lifecycle/lifecycle.js';
import { jsonBody, type RawBodyRequest } from '../http/json-body.js';
import { apolloLogger, rateLimitedWarn, type Logger } from '../observability/logger.js';
import { assertMetricsOffPublicPort, createMetricsRegistry, listenMetrics, metricsRoutes } from '../observability/metrics.js';
import { MemoryNonceStore, RedisNonceStore, type NonceStore } from '../identity/nonce-store.js';
import { migrateUp, openStore, type EntityManager, type Orm } from '../store/orm.js';
import { createRedisClient, redisReady } from '../redis/redis.js';
import { createSubgraphMetrics, observeConnections, operationMetricsScope, useSubgraphMetrics } from './metrics.js';
import { useSlowOperationLog } from './slow-operations.js';
import { createStartupGate, type StartupPhase } from './startup.js';
import { authenticate, createTokenVerifier, type TokenVerifier } from '../identity/tokens.js';
import { traceRequests, useTracing } from '../observability/tracing.js';

type Class = Function;

/**
 * The one shape every subgraph is described by. The registry, `npm start`, composition and
 * the tests all loop over a list of these; nothing else needs to know a subgraph's insides.
 * A subgraph with `entities` has a store (MikroORM, migrations, seed); one without is
 * storeless: it computes or wraps another service, and opens no database at all.
 */
export type SubgraphDefinition<Loaders extends object = any, Services extends object = any> =
  | StoreSubgraphDefinition<Loaders, Services>
  | StorelessSubgraphDefinition<Loaders, Services>;

interface SubgraphBase<Services extends object> {
  /** Lower-case name: the folder, the database suffix and the env-variable prefix. */
  name: string;
  /** Default port when started (`<NAME>_PORT` overrides). */
  port: number;
  resolvers: NonEmptyArray<Class>;
  /** Types not reachable from a resolver but part of the schema (entity stubs, say). */
  orphanedTypes?: Class[];
  /** The federation `@link`; by default the lowest version and the imports the SDL's directives need (shared/subgraph/federation.ts). */
  federation?: FederationOptions;
  /** The subgraph's own directives, defined in its SDL (applied with TypeGraphQL's `@Directive`). */
  directives?: GraphQLDirective[];
  /** More on `extend schema` after the federation link: `@link`s to other specs, `@composeDirective(name: "@…")`. */
  schemaDirectives?: string[];
  /** The `<name>AuditLog` root field and its types. Default: only when the subgraph has mutations (which are audited). */
  auditLog?: boolean;
  /** Long-lived collaborators, built once at start from the validated config. */
  createServices?(config: SubgraphConfig): Services;
}

export interface StoreSubgraphDefinition<Loaders extends object = any, Services extends object = any> extends SubgraphBase<Services> {
  entities: Class[];
  /** `__resolveReference` of each entity this subgraph resolves, by typename. */
  references?: Record<string, (reference: Record<string, unknown>, context: SubgraphContext<Loaders, Services>) => unknown>;
  /** Fresh DataLoaders for one request. */
  createLoaders(em: EntityManager, services: Services): Loaders;
  /** Inserts demo data; called only when every table of the subgraph is empty. */
  seed?(em: EntityManager, services: Services): Promise<void>;
}

export interface StorelessSubgraphDefinition<Loaders extends object = any, Services extends object = any> extends SubgraphBase<Services> {
  /** None: no store is opened, no migrations folder is needed, `/ready` checks no store. */
  entities?: undefined;
  references?: Record<string, (reference: Record<string, unknown>, context: StorelessContext<Loaders, Services>) => unknown>;
  /** Fresh DataLoaders for one request, over the services (there is no EntityManager). */
  createLoaders?(services: Services): Loaders;
  seed?: undefined;
}

/** Whether the subgraph has a store (it declares entities). */
export function hasStore<Loaders extends object, Services extends object>(
  definition: SubgraphDefinition<Loaders, Services>,
): definition is StoreSubgraphDefinition<Loaders, Services> {
  return definition.entities !== undefined;
}

/** Typed identity helper: keeps a definition's loader type flowing into its references. */
export function defineSubgraph<Loaders extends object, Services extends object = object>(definition: StoreSubgraphDefinition<Loaders, Services>): StoreSubgraphDefinition<Loaders, Services>;
export function defineSubgraph<Loaders extends object = object, Services extends object = object>(
  definition: StorelessSubgraphDefinition<Loaders, Services>,
): StorelessSubgraphDefinition<Loaders, Services>;
export function defineSubgraph(definition: SubgraphDefinition): SubgraphDefinition {
  return definition;
}

/**
 * Apollo Server's `@cacheControl`, which subgraphs declare on types and fields; Apollo Server
 * turns it into each response's Cache-Control header, which the gateway combines. Given to
 * TypeGraphQL as a real directive so that `scope: PRIVATE` prints as the enum value Apollo
 * reads (as an untyped argument it would print as a string and be ignored).
 */
const cacheControlDirective = new GraphQLDirective({
  name: 'cacheControl',
  locations: [DirectiveLocation.FIELD_DEFINITION, DirectiveLocation.OBJECT, DirectiveLocation.INTERFACE, DirectiveLocation.UNION],
  args: {
    maxAge: { type: GraphQLInt },
    scope: { type: new GraphQLEnumType({ name: 'CacheControlScope', values: { PUBLIC: {}, PRIVATE: {} } }) },
    inheritMaxAge: { type: GraphQLBoolean },
  },
});

/**
 * TypeGraphQL builds the schema from the definition's own resolver classes (never a glob:
 * its metadata is global), then @apollo/subgraph adds the federation fields. The federation
 * link is derived from the printed SDL (shared/subgraph/federation.ts) unless the definition sets it.
 */
export async function buildFederatedSchema(definition: SubgraphDefinition): Promise<GraphQLSchema> {
  const build = (withAuditLog: boolean) =>
    buildSchema({
      resolvers: withAuditLog ? [...definition.resolvers, createAuditLogResolver(definition.name)] : definition.resolvers,
      orphanedTypes: definition.orphanedTypes,
      validate: { forbidUnknownValues: false },
      directives: [cacheControlDirective, ...(definition.directives ?? [])],
      skipCheck: true,
    });
  // The audit log lives in the store (a storeless subgraph has none) and reads what mutations
  // record: by default it comes with them, and only with them.
  const auditable = hasStore(definition);
  let typeGraphQLSchema = await build(auditable && definition.auditLog === true);
  if (auditable && definition.auditLog === undefined && typeGraphQLSchema.getMutationType()) typeGraphQLSchema = await build(true);
  const typeDefs = withFederationLink(definition.name, printSchemaWithDirectives(typeGraphQLSchema), {
    ...definition,
    // Tessera's own directive, defined for every subgraph, shows only where one applies it.
    optional: { [cacheControlDirective.name]: ['CacheControlScope'] },
  });
  const resolvers = createResolversMap(typeGraphQLSchema) as Record<string, Record<string, unknown>>;
  for (const [typename, resolveReference] of Object.entries(definition.references ?? {})) {
    resolvers[typename] = { ...resolvers[typename], __resolveReference: resolveReference };
  }
  const schema = buildSubgraphSchema([{ typeDefs, resolvers: resolvers as never }]);
  carryFieldExtensions(typeGraphQLSchema, schema);
  // Audit outermost, so refusals by the authorization check are recorded too.
  return hasStore(definition) ? auditMutations(enforceAuthorization(schema)) : enforceAuthorization(schema);
}

/**
 * TypeGraphQL's `@Extensions` (such as `@ListDependsOn`) live on the schema it built, not in
 * the SDL the federated schema is built from: copied over, the served schema's plugins see them.
 */
function carryFieldExtensions(from: GraphQLSchema, to: GraphQLSchema): void {
  for (const type of Object.values(from.getTypeMap())) {
    const target = to.getType(type.name);
    if (!isObjectType(type) || !isObjectType(target)) continue;
    const targetFields = target.getFields();
    for (const field of Object.values(type.getFields())) {
      const into = targetFields[field.name];
      if (into && Object.keys(field.extensions).length) Object.assign(into, { extensions: { ...field.extensions, ...into.extensions } });
    }
  }
}

/** The subgraph's SDL as composition sees it (what `_service { sdl }` returns). */
export async function subgraphSdl(definition: SubgraphDefinition): Promise<string> {
  return printSubgraphSchema(await buildFederatedSchema(definition));
}

export interface ContextInput {
  requestId: string;
  user?: Identity | null;
}

/** `orm`: the subgraph's store; undefined for a storeless subgraph, whose context has no `em`. */
export function createContextFactory<Loaders extends object, Services extends object>(
  definition: SubgraphDefinition<Loaders, Services>,
  orm: Orm | undefined,
  services: Services,
  logger: Logger,
) {
  return ({ requestId: id, user = null }: ContextInput): SubgraphContext<Loaders, Services> | StorelessContext<Loaders, Services> => {
    const common = { requestId: id, logger: logger.child({ requestId: id }), services, user, cacheTags: newCacheTags() };
    if (!hasStore(definition)) return { ...common, loaders: definition.createLoaders?.(services) ?? ({} as Loaders) };
    if (!orm) throw new Error(`The ${definition.name} subgraph declares entities: it needs its store to serve.`);
    const em = orm.em.fork() as EntityManager;
    return { ...common, em, loaders: definition.createLoaders(em, services) };
  };
}

/**
 * The caller of a subgraph request. A request carrying the gateway's signed identity is
 * believed only if the signature verifies. Without one, `SUBGRAPH_TRUST=bearer` takes the
 * client's own access token forwarded by another router (Apollo Router, Hive Gateway), verified
 * as the gateway verifies it, and no Authorization as anonymous, as at the gateway; otherwise
 * unsigned requests are refused unless the development switch allows them (then anonymous).
 */
async function callerOf(
  req: Request,
  config: Pick<SubgraphConfig, 'signingSecret' | 'signatureMaxAgeMs' | 'allowUnsignedRequests'>,
  nonces: NonceStore,
  tokens: TokenVerifier | undefined,
): Promise<Identity | null> {
  const identity = req.get(IDENTITY_HEADER);
  const signature = req.get(SIGNATURE_HEADER);
  // TokenRefusedError is already a 401 UNAUTHENTICATED, thrown before anything runs.
  if (tokens && !identity && !signature) return authenticate(req.get('authorization'), tokens);
  if (config.allowUnsignedRequests && !identity && !signature) return null;
  try {
    return await verifySignedRequest(
      config.signingSecret!,
      { identity, signature, requestId: req.get(REQUEST_ID_HEADER), body: (req as RawBodyRequest).rawBody },
      { maxAgeMs: config.signatureMaxAgeMs, nonces },
    );
  } catch (error) {
    // Thrown from the context function, this refuses the whole request with 401 before anything runs.
    throw new GraphQLError((error as Error).message, { extensions: { code: ErrorCode.UNAUTHENTICATED, http: { status: 401 } } });
  }
}

export interface SubgraphApp {
  app: Express;
  apollo: ApolloServer<SubgraphContext>;
  /** The subgraph's metrics, for `/metrics` on `app` or on a listener of its own (`listenMetrics`). */
  registry: Registry;
}

/**
 * The subgraph as an Express app: `/graphql`, `/health`, `/ready`, `/metrics`. Opens no port;
 * `orm` is undefined for a storeless subgraph (then `/ready` checks no store).
 * `nonces` remembers the signed requests served (in memory by default; `startSubgraph` shares
 * them on Redis when configured).
 */
export async function createSubgraphApp(
  definition: SubgraphDefinition,
  orm: Orm | undefined,
  config: SubgraphConfig,
  logger: Logger,
  services: object = definition.createServices?.(config) ?? {},
  registry: Registry = createMetricsRegistry(),
  nonces: NonceStore = new MemoryNonceStore(),
): Promise<SubgraphApp> {
  if (!config.signingSecret) throw new Error('The subgraph needs its signing secret resolved before it serves.');
  assertMetricsOffPublicPort(config.env, config.metrics);
  const development = config.env === 'development';
  const schema = await buildFederatedSchema(definition);
  const metrics = createSubgraphMetrics(registry);
  if (orm) observeConnections(registry, orm, config.store.kind);
  const apollo = new ApolloServer<SubgraphContext>({
    schema,
    plugins: [useCacheTags(schema), useSubgraphMetrics(metrics), useTracing(), useSlowOperationLog({ slowMs: config.slowOperationMs })],
    formatError: createFormatError({ mask: !development, logger, mapError: toTesseraError }),
    includeStacktraceInErrorResponses: development,
    // The process's own SIGTERM/SIGINT handler shuts down in order (and flushes traces); Apollo's
    // would stop the server and re-raise the signal, killing the process halfway through that.
    stopOnTerminationSignals: false,
    introspection: config.env !== 'production',
    logger: apolloLogger(logger),
  });
  await apollo.start();
  const createContext = createContextFactory(definition, orm, services, logger);
  const tokens = config.trust === 'bearer' ? createTokenVerifier(config.jwt) : undefined;
  const app = express();
  app.disable('x-powered-by');
  app.use(enterRequestScope({ logger }));
  // Probes ask every few seconds while the store is down: one warning per interval is enough.
  const warnStoreDown = rateLimitedWarn(logger, 30_000);
  healthRoutes(app, async () => {
    if (!orm) return { ready: true };
    try {
      await orm.em.fork().execute('select 1');
      return { ready: true, store: 'up' };
    } catch (error) {
      // What the driver says names hosts, users and databases: for the operator's log, not for whoever can reach /ready.
      warnStoreDown({ err: error }, 'readiness: store down');
      return { ready: false, store: 'down' };
    }
  });
  metricsRoutes(app, registry, config.metrics);
  app.use(
    '/graphql',
    traceRequests({ subgraphName: definition.name }),
    // The signature covers the body as sent; only the raw bytes can be checked against it.
    jsonBody({ limit: '1mb', maxDepth: config.maxJsonDepth, keepRaw: true }),
    operationMetricsScope(metrics),
    expressMiddleware(apollo, {
      // A storeless subgraph's context has no `em`; the framework's plugins never read it.
      context: async ({ req }) => createContext({ requestId: requestScope().requestId, user: await callerOf(req, config, nonces, tokens) }) as SubgraphContext,
    }),
  );
  app.use(graphqlErrorHandler(logger));
  return { app, apollo, registry };
}

/** True when none of the subgraph's tables holds a row. */
async function isEmpty(definition: StoreSubgraphDefinition, orm: Orm): Promise<boolean> {
  const em = orm.em.fork();
  for (const entity of definition.entities) {
    if ((await em.count(entity as never, {})) > 0) return false;
  }
  return true;
}

/** Applies migrations and inserts seed data into an empty store, as configured; says what it did, and `onPhase` hears each step as it starts. */
export async function prepareStore(
  definition: StoreSubgraphDefinition,
  orm: Orm,
  config: SubgraphConfig,
  logger: Logger,
  services: object,
  onPhase: (phase: StartupPhase) => void = () => undefined,
): Promise<{ migrations: string[]; seeded: boolean }> {
  if (config.migrateOnStart) onPhase('migrating');
  const migrations = config.migrateOnStart ? await migrateUp(orm) : [];
  if (migrations.length) logger.info({ migrations }, 'migrations applied');
  const seeded = config.seedOnStart && !!definition.seed && (await isEmpty(definition, orm));
  if (seeded) {
    onPhase('seeding');
    await orm.em.fork().transactional((em) => definition.seed!(em as EntityManager, services));
    logger.info('seed data inserted into the empty store');
  }
  return { migrations, seeded };
}

export interface RunningSubgraph {
  url: string;
  /** Undefined for a storeless subgraph. */
  orm: Orm | undefined;
  server: Server;
  registry: Registry;
  /** Where its metrics are scraped; undefined when `METRICS=false`. */
  metricsUrl: string | undefined;
  stop(): Promise<void>;
}

/**
 * Listens, opens the store (when it has one), prepares it, and serves the subgraph: what `main` and end-to-end
 * tests run. It listens first (shared/subgraph/startup.ts), so a first start's long migrations and seed
 * show as `starting` with their phase, not as a subgraph that is not there.
 */
export async function startSubgraph(
  definition: SubgraphDefinition,
  config: SubgraphConfig,
  logger: Logger,
  options: { onQuery?: (sql: string) => void; lifecycle?: Lifecycle } = {},
): Promise<RunningSubgraph> {
  const gate = createStartupGate();
  const { server, url } = await listen(options.lifecycle ? options.lifecycle.guard(gate.listener) : gate.listener, config.host, config.port);
  logger.info({ url: `${url}/health` }, 'listening while starting');
  let orm: Orm | undefined;
  let redis: ReturnType<typeof createRedisClient> = undefined;
  try {
    // A storeless subgraph opens nothing: no database, no migrations, no seed.
    if (hasStore(definition)) {
      orm = await openStore({ name: definition.name, store: config.store, entities: definition.entities, logger, onQuery: options.onQuery, slowSqlMs: config.slowSqlMs });
    }
    redis = createRedisClient(config.redis, logger);
    const services = definition.createServices?.(config) ?? {};
    if (orm && hasStore(definition)) await prepareStore(definition, orm, config, logger, services, (phase) => gate.phase(phase));
    gate.phase('building schema');
    if (redis && !(await redisReady(redis, 3_000))) logger.warn('redis is not reachable yet; replayed signatures are refused by this process alone until it is');
    const nonces = redis ? new RedisNonceStore(redis, config.redis.prefix, logger) : new MemoryNonceStore();
    const { app, apollo, registry } = await createSubgraphApp(definition, orm, config, logger, services, undefined, nonces);
    const metricsListener = await listenMetrics(registry, config.metrics);
    if (metricsListener) logger.info({ url: metricsListener.url }, 'metrics listening');
    gate.open(app);
    // Narrowed once, for stop() to close.
    const store = orm;
    return {
      url: `${url}/graphql`,
      orm: store,
      server,
      registry,
      metricsUrl: metricsListener?.url ?? (config.metrics.enabled ? `${url}/metrics` : undefined),
      async stop() {
        await closeServer(server);
        await metricsListener?.stop();
        await apollo.stop();
        await store?.close();
        redis?.disconnect();
      },
    };
  } catch (error) {
    await closeServer(server, 0);
    await orm?.close();
    redis?.disconnect();
    throw error;
  }
}
