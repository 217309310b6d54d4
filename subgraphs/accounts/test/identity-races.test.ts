import { describe, expect, it } from '@jest/globals';
import { subgraphForSuite } from '../../../test/support/subgraph.js';
import { accounts } from '../index.js';
import { SEED_PASSWORD } from '../seed.js';

const LOGIN = `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { refreshToken } }`;
const REFRESH = `mutation($t: String!) { refresh(refreshToken: $t) { refreshToken } }`;
const REGISTER = `mutation($e: String!) { register(email: $e, password: "a long passphrase", name: "Sam") { user { username } } }`;

// On real PostgreSQL (the subgraph test layer): the races below do not show on PGlite, which runs one statement at a time.
describe('accounts under concurrent requests', () => {
  const subgraph = subgraphForSuite(accounts);

  const refresh = async (token: string) => {
    const { data, errors } = await subgraph.query(REFRESH, { t: token });
    return { token: data?.refresh?.refreshToken as string | undefined, code: errors?.[0]?.extensions?.code };
  };

  it('two concurrent refreshes of one token: one wins, and reuse kills the family, the winner’s successor included (30 races)', async () => {
    const survivors: number[] = [];
    for (let trial = 0; trial < 30; trial++) {
      const login = await subgraph.query(LOGIN, { e: 'alan@example.com', p: SEED_PASSWORD });
      const token = login.data?.login.refreshToken as string;
      const pair = await Promise.all([refresh(token), refresh(token)]);
      const winners = pair.filter((r) => r.token);
      expect(winners).toHaveLength(1);
      expect(pair.find((r) => !r.token)?.code).toBe('UNAUTHENTICATED');
      // Neither the winner's new token nor the spent one may work once reuse was seen.
      const [successor, spent] = await Promise.all([refresh(winners[0]!.token!), refresh(token)]);
      if (successor.token) survivors.push(trial);
      expect(spent.code).toBe('UNAUTHENTICATED');
    }
    expect(survivors).toEqual([]);
  });

  it('ten concurrent registrations with the same local part all succeed, each with its own username', async () => {
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => subgraph.query(REGISTER, { e: `sam@host${i}.example` })));
    expect(results.map((r) => r.errors)).toEqual(Array(10).fill(undefined));
    const usernames = results.map((r) => r.data?.register.user.username as string);
    expect(new Set(usernames).size).toBe(10);
    for (const username of usernames) expect(username).toMatch(/^sam[_0-9]*$/);
  });

  it('concurrent registrations of one email: one account, the others CONFLICT on email', async () => {
    const results = await Promise.all(Array.from({ length: 4 }, () => subgraph.query(REGISTER, { e: 'twin@example.com' })));
    expect(results.filter((r) => r.data?.register)).toHaveLength(1);
    for (const r of results.filter((r) => r.errors)) expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', field: 'email' });
  });
});
