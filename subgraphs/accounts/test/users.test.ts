import { describe, expect, it } from '@jest/globals';
import { seedId } from '../../../shared/store/seed.js';
import { executorForSuite } from '../../../test/support/in-process.js';
import { subgraphForSuite } from '../../../test/support/subgraph.js';
import { accounts } from '../index.js';

describe('accounts', () => {
  const subgraph = subgraphForSuite(accounts);
  const execute = executorForSuite(accounts, subgraph);

  it('answers me with the caller, and null when anonymous', async () => {
    const user = { userId: seedId('user', 'grace'), username: 'grace', roles: [], scopes: [] };
    expect((await execute(`{ me { username name } }`, {}, user)).data).toEqual({ me: { username: 'grace', name: 'Grace Hopper' } });
    expect((await execute(`{ me { username } }`)).data).toEqual({ me: null });
  });

  it('pages through users earliest first', async () => {
    const names: string[] = [];
    let after: string | null = null;
    for (;;) {
      const { data }: { data?: any } = await subgraph.query(
        `query($after: String) { users(first: 2, after: $after) { totalCount edges { node { username } } pageInfo { hasNextPage endCursor } } }`,
        { after },
      );
      names.push(...data.users.edges.map((e: any) => e.node.username));
      expect(data.users.totalCount).toBe(5);
      if (!data.users.pageInfo.hasNextPage) break;
      after = data.users.pageInfo.endCursor;
    }
    expect(names).toEqual(['ada', 'grace', 'alan', 'edsger', 'barbara']);
  });

  it('resolves User references in one batch, null for unknown ids', async () => {
    subgraph.resetSql();
    const { data } = await subgraph.query(`query($r: [_Any!]!) { _entities(representations: $r) { ... on User { username } } }`, {
      r: [
        { __typename: 'User', id: seedId('user', 'alan') },
        { __typename: 'User', id: seedId('user', 'ada') },
        { __typename: 'User', id: '3f1d2c4b-0000-4000-8000-000000000000' },
        { __typename: 'User', id: 'garbage' },
      ],
    });
    expect(data?._entities).toEqual([{ username: 'alan' }, { username: 'ada' }, null, null]);
    expect(subgraph.sql.filter((s) => s.startsWith('select'))).toHaveLength(1);
  });
});
