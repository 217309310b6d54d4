import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { graphql, GraphQLBoolean, GraphQLObjectType, GraphQLSchema } from 'graphql';
import { inventory } from '../../subgraphs/inventory/index.js';
import { freshStore } from '../../test/support/postgres.js';
import { testLogger } from '../../test/support/subgraph.js';
import { migrateUp, openStore, type EntityManager, type Orm } from '../store/orm.js';
import { storeEntities } from '../subgraph/definition.js';
import { settleOutboxAfterMutations } from './mutations.js';
import { OutboxMessage } from './outbox.entity.js';
import { OutboxWriter } from './outbox.js';

const REFUSED = '7b0c1f52-8f1e-4c43-9d43-2d1f6f0a0301';
const LATE = '7b0c1f52-8f1e-4c43-9d43-2d1f6f0a0302';

/** Two mutations that request a job and never flush: one fails after it, one returns. */
const schema = settleOutboxAfterMutations(
  new GraphQLSchema({
    query: new GraphQLObjectType({ name: 'Query', fields: { ok: { type: GraphQLBoolean } } }),
    mutation: new GraphQLObjectType({
      name: 'Mutation',
      fields: {
        refused: {
          type: GraphQLBoolean,
          resolve: (_source, _args, context: { jobs: OutboxWriter }) => {
            context.jobs.emit('StockLow', { productId: REFUSED, quantity: 1 });
            throw new Error('refused after requesting');
          },
        },
        late: {
          type: GraphQLBoolean,
          resolve: (_source, _args, context: { jobs: OutboxWriter }) => {
            context.jobs.emit('StockLow', { productId: LATE, quantity: 1 });
            return true;
          },
        },
      },
    }),
  }),
);

describe('the outbox around mutations', () => {
  const { store, drop } = freshStore('inventory');
  let orm: Orm;

  beforeAll(async () => {
    orm = await openStore({ name: 'inventory', store, entities: storeEntities(inventory), logger: testLogger });
    await migrateUp(orm);
  });

  afterAll(async () => {
    await orm.close();
    await drop();
  });

  it('writes what a mutation requested after its last flush once it returned, and drops what a failed one left unflushed', async () => {
    const em = orm.em.fork() as EntityManager;
    let wakes = 0;
    const jobs = new OutboxWriter('inventory', inventory, em, () => void wakes++);
    // Mutation fields run in order: the second one's flush must not write the first one's row.
    const result = await graphql({ schema, source: 'mutation { refused late }', contextValue: { jobs } });
    expect(result.errors?.map((error) => error.message)).toEqual(['refused after requesting']);
    expect(result.data).toEqual({ refused: null, late: true });
    const rows = await orm.em.fork().find(OutboxMessage, {});
    expect(rows.map((row) => row.payload)).toEqual([{ productId: LATE, quantity: 1 }]);
    // The relay is woken for the committed row only.
    expect(wakes).toBe(1);
  });
});
