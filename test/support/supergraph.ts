import type { Server } from 'node:http';
import type { JwtConfig, RedisConfig, RuntimeEnvironment } from '../../shared/config.js';
import { createTokenVerifier, type VerifierOptions } from '../../gateway/authentication.js';
import { createGateway } from '../../gateway/index.js';
import { closeServer, listen } from '../../shared/http.js';
import { SEED_PASSWORD } from '../../subgraphs/accounts/seed.js';
import { subgraphs } from '../../subgraphs/index.js';
import { testGatewayConfig, testJwt } from './config.js';
import { postGraphQL, startTestSubgraph, testLogger, type GraphQLResponse, type TestSubgraph } from './subgraph.js';

export interface TestSupergraph {
  url: string;
  origin: string;
  subgraphs: Record<string, TestSubgraph>;
  query<T = Record<string, any>>(query: string, variables?: Record<string, unknown>, headers?: Record<string, string>): Promise<GraphQLResponse<T>>;
  /** Signs a seed user in through the gateway; returns the Authorization header to send. */
  loginAs(username: string): Promise<Record<string, string>>;
  /** GraphQL requests all subgraphs received since the last reset. */
  subgraphRequests(): number;
  resetRequests(): void;
  /** SQL statements sent by all subgraphs since the last reset. */
  sqlCount(): number;
  resetSql(): void;
  stop(): Promise<void>;
}

export interface StartOptions {
  seed?: boolean;
  env?: RuntimeEnvironment;
  /** Serve this supergraph file instead of composing from the running subgraphs. */
  supergraphPath?: string;
  /** Token verification settings of the gateway (HS256 with the test secret by default). */
  jwt?: Partial<JwtConfig>;
  verifierOptions?: VerifierOptions;
  /** The gateway's cache settings (in-memory response cache by default). */
  redis?: Partial<RedisConfig>;
  responseCache?: boolean;
}

/**
 * The whole supergraph as it runs for real: every subgraph over HTTP on its own fresh
 * PostgreSQL database (migrated, seeded), and the gateway composing them, on free ports.
 */
export async function startTestSupergraph(options: StartOptions = {}): Promise<TestSupergraph> {
  const { seed = true, env = 'test', supergraphPath, jwt, verifierOptions, redis, responseCache = true } = options;
  const running = await Promise.all(subgraphs.map((definition) => startTestSubgraph(definition, { seed })));
  let server: Server | undefined;
  try {
    const config = testGatewayConfig(
      running.map((s) => ({ name: s.name, url: s.url })),
      { env, supergraphPath, jwt: { ...testJwt, ...jwt } },
    );
    config.redis = { ...config.redis, ...redis };
    config.responseCache = { ...config.responseCache, enabled: responseCache };
    const gateway = await createGateway({ config, logger: testLogger, verifier: createTokenVerifier(config.jwt, verifierOptions) });
    const listening = await listen(gateway.app, '127.0.0.1', 0);
    server = listening.server;
    const url = `${listening.url}/graphql`;
    return {
      url,
      origin: listening.url,
      subgraphs: Object.fromEntries(running.map((s) => [s.name, s])),
      query: (query, variables, headers) => postGraphQL(url, query, variables, headers),
      async loginAs(username) {
        const { data, errors } = await postGraphQL(url, `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }`, {
          e: `${username}@example.com`,
          p: SEED_PASSWORD,
        });
        if (!data?.login) throw new Error(`login as ${username} failed: ${JSON.stringify(errors)}`);
        return { authorization: `Bearer ${data.login.accessToken}` };
      },
      subgraphRequests: () => running.reduce((sum, s) => sum + s.requests(), 0),
      resetRequests: () => running.forEach((s) => s.resetRequests()),
      sqlCount: () => running.reduce((sum, s) => sum + s.sql.length, 0),
      resetSql: () => running.forEach((s) => s.resetSql()),
      async stop() {
        await closeServer(listening.server);
        await gateway.stop();
        await Promise.all(running.map((s) => s.stop()));
      },
    };
  } catch (error) {
    if (server) await closeServer(server);
    await Promise.all(running.map((s) => s.stop()));
    throw error;
  }
}
