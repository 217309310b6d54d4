import { beforeAll } from '@jest/globals';
import { createSubgraphApp } from '../../shared/subgraph/app.js';
import type { SubgraphDefinition } from '../../shared/subgraph/definition.js';
import { buildFederatedSchema } from '../../shared/subgraph/schema.js';
import type { Identity } from '../../shared/identity/identity.js';
import { createContextFactory, type SubgraphContext } from '../../shared/subgraph/context.js';
import type { TestSubgraph } from './subgraph.js';
import { testSubgraphConfig } from './config.js';
import { testLogger } from './subgraph.js';

/**
 * Executes operations against a subgraph's schema in-process, as a given caller: for rules
 * that depend on who asks, before the gateway can sign identities.
 */
export async function executorFor(definition: SubgraphDefinition, subgraph: TestSubgraph) {
  const config = testSubgraphConfig(definition.name, { kind: 'pglite', dataDir: 'memory://' });
  const services = definition.createServices?.(config) ?? {};
  const schema = await buildFederatedSchema(definition);
  const { apollo } = await createSubgraphApp({ definition, schema, orm: subgraph.orm, config, logger: testLogger, services });
  const createContext = createContextFactory({ definition, orm: subgraph.orm, services, logger: testLogger });
  return async (query: string, variables: Record<string, unknown> = {}, user: Identity | null = null) => {
    const response = await apollo.executeOperation(
      { query, variables },
      { contextValue: createContext({ requestId: 'test', user }) as SubgraphContext },
    );
    if (response.body.kind !== 'single') throw new Error('expected a single result');
    return response.body.singleResult as {
      data?: Record<string, any> | null;
      errors?: { message: string; extensions?: Record<string, unknown> }[];
    };
  };
}

type Executor = Awaited<ReturnType<typeof executorFor>>;

/** `executorFor` built before the enclosing suite's tests (after `subgraph` has started, when registered after it). */
export function executorForSuite(definition: SubgraphDefinition, subgraph: TestSubgraph): Executor {
  let execute: Executor | undefined;
  beforeAll(async () => {
    execute = await executorFor(definition, subgraph);
  });
  return (...args) => {
    if (!execute) throw new Error('executed before the suite started');
    return execute(...args);
  };
}
