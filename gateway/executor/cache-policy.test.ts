import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ApolloServer } from '@apollo/server';
import type { GatewayCachePolicy, GatewayInterface } from '@apollo/server-gateway-interface';
import { buildSchema } from 'graphql';
import { restrictByCacheControl } from './cache-policy.js';

/**
 * Apollo Server's own request cache policy (its constructor is not exported): a gateway that
 * hands over each request's `overallCachePolicy`, driven with `executeOperation`, no HTTP.
 */
class PolicyCapturingGateway implements GatewayInterface {
  captured: GatewayCachePolicy | undefined;
  private readonly apiSchema = buildSchema('type Query { hello: String }');

  onSchemaLoadOrUpdate(callback: Parameters<GatewayInterface['onSchemaLoadOrUpdate']>[0]) {
    callback({ apiSchema: this.apiSchema, coreSupergraphSdl: '' });
    return () => {};
  }

  async load() {
    return {
      executor: async (requestContext: { overallCachePolicy: GatewayCachePolicy }) => {
        this.captured = requestContext.overallCachePolicy;
        return { data: { hello: 'world' } };
      },
    };
  }

  async stop() {}
}

const gateway = new PolicyCapturingGateway();
const server = new ApolloServer({ gateway });

beforeAll(() => server.start());
afterAll(() => server.stop());

async function apolloPolicy(): Promise<GatewayCachePolicy> {
  gateway.captured = undefined;
  await server.executeOperation({ query: '{ hello }' });
  const policy = gateway.captured as GatewayCachePolicy | undefined;
  if (!policy) throw new Error('the gateway executor did not run');
  return policy;
}

/** The policy after the subgraph answers of one request, each with its `Cache-Control` (undefined: none sent). */
async function afterAnswers(...cacheControls: (string | undefined)[]) {
  const policy = await apolloPolicy();
  for (const cacheControl of cacheControls) restrictByCacheControl(policy, cacheControl);
  return policy.policyIfCacheable();
}

describe("a subgraph answer's Cache-Control restricts the request's cache policy", () => {
  it('allows max-age=N publicly', async () => {
    expect(await afterAnswers('max-age=60')).toEqual({ maxAge: 60, scope: 'PUBLIC' });
    expect(await afterAnswers('public, max-age=5')).toEqual({ maxAge: 5, scope: 'PUBLIC' });
  });

  it('reads the header case-insensitively and with spaces', async () => {
    expect(await afterAnswers(' Max-Age=30 ,  PRIVATE ')).toEqual({ maxAge: 30, scope: 'PRIVATE' });
  });

  it('makes the response uncacheable with no header, no-store, no-cache, max-age=0 or an unreadable max-age', async () => {
    for (const header of [undefined, '', 'no-store', 'no-cache', 'max-age=60, no-store', 'max-age=0', 'max-age=soon', 'max-age']) {
      expect({ header, policy: await afterAnswers(header) }).toEqual({ header, policy: null });
    }
  });

  it('makes a private answer private', async () => {
    expect(await afterAnswers('private, max-age=120')).toEqual({ maxAge: 120, scope: 'PRIVATE' });
  });

  it('is the most restrictive of all the answers: the least max-age, private if any is', async () => {
    expect(await afterAnswers('max-age=300', 'max-age=60', 'max-age=120')).toEqual({ maxAge: 60, scope: 'PUBLIC' });
    expect(await afterAnswers('max-age=300, private', 'max-age=600')).toEqual({ maxAge: 300, scope: 'PRIVATE' });
    expect(await afterAnswers('max-age=300', 'max-age=600, private')).toEqual({ maxAge: 300, scope: 'PRIVATE' });
    expect(await afterAnswers('max-age=300', undefined, 'max-age=600')).toBeNull();
    expect(await afterAnswers('max-age=300', 'no-store')).toBeNull();
  });

  it('reaches the response as its Cache-Control header', async () => {
    const headerAfter = async (...cacheControls: string[]) => {
      const policyServer = new ApolloServer({
        gateway: Object.assign(new PolicyCapturingGateway(), {
          load: async () => ({
            executor: async (requestContext: { overallCachePolicy: GatewayCachePolicy }) => {
              for (const cacheControl of cacheControls) restrictByCacheControl(requestContext.overallCachePolicy, cacheControl);
              return { data: { hello: 'world' } };
            },
          }),
        }),
      });
      await policyServer.start();
      try {
        const response = await policyServer.executeOperation({ query: '{ hello }' });
        return response.http.headers.get('cache-control');
      } finally {
        await policyServer.stop();
      }
    };
    expect(await headerAfter('max-age=90', 'max-age=45, private')).toBe('max-age=45, private');
    expect(await headerAfter('max-age=90', 'no-store')).toBe('no-store');
    expect(await headerAfter('max-age=90')).toBe('max-age=90, public');
  });

  it('does nothing without a policy', () => {
    expect(() => restrictByCacheControl(undefined, 'max-age=60')).not.toThrow();
  });
});
