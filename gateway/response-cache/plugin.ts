import { createHash } from 'node:crypto';
import { HeaderMap, type ApolloServerPlugin, type GraphQLResponse } from '@apollo/server';
import { weakEntityTag } from '../../shared/http/apollo-middleware.js';
import { throttledWarn, type Logger } from '../../shared/observability/logger.js';
import type { CachedResponse, ResponseCacheStore } from './store.js';
import type { GatewayContext } from '../context.js';
import type { CostLimit } from '../protection/cost-limit.js';

export const CACHE_STATUS_HEADER = 'x-cache';

interface ResponseCacheOptions {
  /** Where responses live: Redis (shared by replicas) or memory. */
  store: ResponseCacheStore;
  logger: Logger;
  /** Told each query's cache status and each purge's outcome (the gateway's metrics). Default: nobody. */
  observer?: ResponseCacheObserver;
  /** The cost step's analysis of an answered query: stored with it, for the rate limit to charge its hits. */
  analysisOf: CostLimit['analysisOf'];
}

export interface ResponseCacheObserver {
  lookup(status: 'HIT' | 'MISS' | 'BYPASS'): void;
  purge(outcome: 'done' | 'deferred'): void;
}

/**
 * Key of one operation: the document (Apollo Server's `queryHash`: the hex sha256 of its text,
 * or the persisted query's hash it was sent by), its name and its variables as the request
 * carries them (not who asks; see below). The cache's fast path (./fast-path.ts) keys so too.
 */
export function operationKey(queryHash: string, operationName: string | null | undefined, variables: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify([queryHash, operationName ?? null, variables ?? {}]))
    .digest('base64url');
}

/**
 * The body Apollo Server sends for an answer without errors, as its default `stringifyResult`
 * writes it (`errors`, `data`, `extensions` in that order, then a newline): what a hit sends again.
 */
function responseBody({ data, extensions }: { data?: unknown; extensions?: unknown }): Buffer {
  return Buffer.from(`${JSON.stringify({ data, extensions })}\n`);
}

/**
 * The tag of every answer that fetched from a subgraph which reports no cache tags, and what
 * a mutation that reached such a subgraph purges. (`@` is in no GraphQL name: it cannot clash
 * with an entity's tag.)
 */
function untaggedSubgraphTag(subgraph: string): string {
  return `@subgraph:${subgraph}`;
}

/**
 * An answer's tags: what the subgraphs reported it read (entities, and the root lists a new or
 * changed entity may move), and the subgraphs that could not say what it read.
 */
function tagsOf({ cacheTags, untaggedSubgraphs }: GatewayContext): string[] {
  return [...cacheTags.entities, ...[...untaggedSubgraphs].map(untaggedSubgraphTag)];
}

/**
 * What a mutation purges: what the subgraphs reported it changed, and every answer that read
 * from a subgraph it reached which cannot say what it changed.
 */
function changesOf({ cacheTags, untaggedSubgraphs }: GatewayContext): string[] {
  return [...cacheTags.changed, ...[...untaggedSubgraphs].map(untaggedSubgraphTag)];
}

function cachedResponse(entry: CachedResponse): GraphQLResponse {
  const age = Math.max(0, Math.floor((Date.now() - entry.storedAt) / 1000));
  const headers = new HeaderMap([
    [CACHE_STATUS_HEADER, 'HIT'],
    ['age', String(age)],
    ['cache-control', `max-age=${Math.max(0, entry.maxAge - age)}, ${entry.scope.toLowerCase()}`],
  ]);
  // Rare here (see ./fast-path.ts for what reaches this path): the data is read back from the body.
  const { data } = JSON.parse(entry.body.toString()) as { data: Record<string, unknown> };
  return { http: { status: undefined, headers }, body: { kind: 'single', singleResult: { data } } };
}

/**
 * Caches whole query responses at the gateway.
 *
 * - How long and for whom comes from the subgraphs' `@cacheControl` hints, which Apollo
 *   combines into the request's policy (the smallest maxAge; PRIVATE if any part is).
 *   PUBLIC responses are shared; PRIVATE ones are stored under the caller's id and looked up
 *   only for that caller; an anonymous PRIVATE response is not stored. Mutations, responses
 *   with errors and maxAge 0 are never stored.
 * - Each response is tagged with the entities the subgraphs report having resolved. A
 *   mutation's subgraphs report what they changed; the matching responses are purged before
 *   the mutation's response goes out, so the next read is fresh whatever the TTL.
 * - Identical misses in flight at once (same key, same caller) run once; the others wait.
 * - When the store is unavailable, requests run uncached (`x-cache: BYPASS`) and a warning is
 *   logged now and then; it resumes by itself.
 */
export function useResponseCache({ store, logger, observer, analysisOf }: ResponseCacheOptions): ApolloServerPlugin<GatewayContext> {
  const inFlight = new Map<string, Promise<CachedResponse | null>>();
  const warn = throttledWarn(logger);

  return {
    async requestDidStart() {
      let status: 'HIT' | 'MISS' | 'BYPASS' = 'MISS';
      let keys: { public: string; private?: string } | undefined;
      let epoch = '0';
      let settleFlight: ((entry: CachedResponse | null) => void) | undefined;

      return {
        async responseForOperation(requestContext) {
          if (requestContext.operation.operation !== 'query') return null;
          if (!store.available()) {
            status = 'BYPASS';
            return null;
          }
          const { queryHash, request } = requestContext;
          // Set before any operation is resolved.
          const base = operationKey(queryHash!, request.operationName, request.variables);
          const user = requestContext.contextValue.user;
          keys = { public: `public:${base}`, private: user ? `user:${user.userId}:${base}` : undefined };
          try {
            const lookup = await store.lookup(keys.private ? [keys.private, keys.public] : [keys.public]);
            epoch = lookup.epoch;
            const hit = lookup.entries.find((entry) => entry !== null);
            if (hit) {
              status = 'HIT';
              return cachedResponse(hit);
            }
          } catch (error) {
            warn({ err: (error as Error).message }, 'response cache unavailable; serving uncached');
            status = 'BYPASS';
            return null;
          }
          const flightKey = keys.private ?? keys.public;
          const leader = inFlight.get(flightKey);
          if (leader) {
            const shared = await leader;
            if (shared) {
              status = 'HIT';
              return cachedResponse(shared);
            }
            return null;
          }
          inFlight.set(
            flightKey,
            new Promise((resolve) => {
              settleFlight = (entry) => {
                inFlight.delete(flightKey);
                resolve(entry);
              };
            }),
          );
          return null;
        },

        async willSendResponse(requestContext) {
          const { operation, response, contextValue } = requestContext;
          if (operation?.operation === 'mutation') {
            const changed = changesOf(contextValue);
            if (!changed.length) return;
            try {
              await store.purge(changed);
              observer?.purge('done');
            } catch (error) {
              observer?.purge('deferred');
              // Owed: the store serves nothing until the purge has gone through.
              warn({ err: (error as Error).message, tags: changed }, 'response cache purge deferred until redis is back');
            }
            return;
          }
          if (operation?.operation !== 'query') return;
          response.http.headers.set(CACHE_STATUS_HEADER, status);
          observer?.lookup(status);
          if (status !== 'MISS') return;

          let stored: CachedResponse | null = null;
          const policy = requestContext.overallCachePolicy.policyIfCacheable();
          const result = response.body.kind === 'single' ? response.body.singleResult : undefined;
          const key = policy?.scope === 'PRIVATE' ? keys?.private : keys?.public;
          const { document, schema, request } = requestContext;
          const operationName = requestContext.operationName ?? null;
          if (policy && key && result?.data && !result.errors && document) {
            try {
              // Admitted, so analysed already: this reads the cost step's verdict.
              const { cost, rootFields } = analysisOf({ schema, operation, document, request });
              // Serialized once, here: the plugins before this one (the cost step's `extensions.cost`) have had their say.
              const body = responseBody(result);
              const entry: CachedResponse = {
                body,
                entityTag: weakEntityTag(body),
                storedAt: Date.now(),
                maxAge: policy.maxAge,
                scope: policy.scope,
                charge: { operationName, cost, rootFields: [...rootFields] },
              };
              if (await store.store(key, entry, tagsOf(contextValue), epoch)) stored = entry;
            } catch (error) {
              warn({ err: (error as Error).message }, 'response cache unavailable; serving uncached');
            }
          }
          settleFlight?.(stored);
        },
      };
    },
  };
}
