import { describe, expect, it } from '@jest/globals';
import { seedId } from '../../shared/store/seed.js';
import { User } from '../../subgraphs/accounts/entities/user.entity.js';
import { Review } from '../../subgraphs/reviews/entities/review.entity.js';
import { supergraphForSuite } from '../support/supergraph.js';

const PASSWORD = 'a long passphrase';
const REGISTER = `mutation($e: String!) { register(email: $e, password: "${PASSWORD}", name: "Short-lived") { accessToken refreshToken user { id } } }`;
const LOGIN = `mutation($e: String!) { login(email: $e, password: "${PASSWORD}") { accessToken } }`;
const REFRESH = `mutation($t: String!) { refresh(refreshToken: $t) { accessToken } }`;
const ADD_REVIEW = `mutation($p: ID!) { addReview(input: { productId: $p, body: "Still here?", rating: 4 }) { id } }`;
const product = seedId('product', '100000000004');

describe('a user deleted or disabled while their access token is still valid', () => {
  const supergraph = supergraphForSuite();

  const register = async (email: string) => {
    const { data, errors } = await supergraph.query(REGISTER, { e: email });
    expect(errors).toBeUndefined();
    const { accessToken, refreshToken, user } = data!.register;
    return { id: user.id as string, refreshToken: refreshToken as string, headers: { authorization: `Bearer ${accessToken}` } };
  };
  const reviewsBy = (author: string) => supergraph.subgraphs.reviews!.orm.em.fork().count(Review, { author });

  /** A write that must be refused at the gateway: 401, the reason, and nothing sent to the subgraph that would write. */
  const expectWriteRefused = async (headers: Record<string, string>, author: string, reason: string) => {
    const reviews = supergraph.subgraphs.reviews!;
    reviews.resetRequests();
    const response = await supergraph.query(ADD_REVIEW, { p: product }, headers);
    expect(response.status).toBe(401);
    expect(response.data).toBeUndefined();
    expect(response.errors).toHaveLength(1);
    expect(response.errors![0]!.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason });
    expect(reviews.requests()).toBe(0);
    expect(await reviewsBy(author)).toBe(0);
  };

  it('deleted from the accounts store: me is null and addReview is refused with UNAUTHENTICATED, no review written', async () => {
    const gone = await register('deleted.soon@example.com');
    await supergraph.subgraphs.accounts!.orm.em.fork().execute(`delete from users where id = ?`, [gone.id]);

    await expectWriteRefused(gone.headers, gone.id, 'user_not_found');
    // Reads still run with the token until it expires; accounts no longer knows the user.
    const me = await supergraph.query(`{ me { id } }`, {}, gone.headers);
    expect(me.data).toEqual({ me: null });
  });

  it('disabled by an admin: writes refused at once, login and refresh refused, me null; enabled again, signs in anew', async () => {
    const user = await register('disabled.soon@example.com');
    expect((await supergraph.query(`{ me { id } }`, {}, user.headers)).data).toEqual({ me: { id: user.id } });
    const admin = await supergraph.loginAs('ada');

    const notAdmin = await supergraph.query(
      `mutation($id: ID!) { disableUser(id: $id) { id } }`,
      { id: user.id },
      await supergraph.loginAs('alan'),
    );
    expect(notAdmin.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const disabled = await supergraph.query(`mutation($id: ID!) { disableUser(id: $id) { id disabled } }`, { id: user.id }, admin);
    expect(disabled.errors).toBeUndefined();
    expect(disabled.data).toEqual({ disableUser: { id: user.id, disabled: true } });
    expect((await supergraph.subgraphs.accounts!.orm.em.fork().findOneOrFail(User, { id: user.id })).disabled).toBe(true);

    await expectWriteRefused(user.headers, user.id, 'user_disabled');
    expect((await supergraph.query(`{ me { id } }`, {}, user.headers)).data).toEqual({ me: null });
    const login = await supergraph.query(LOGIN, { e: 'disabled.soon@example.com' });
    expect(login.errors?.[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'user_disabled' });
    const refresh = await supergraph.query(REFRESH, { t: user.refreshToken });
    expect(refresh.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');

    const enabled = await supergraph.query(`mutation($id: ID!) { enableUser(id: $id) { disabled } }`, { id: user.id }, admin);
    expect(enabled.data).toEqual({ enableUser: { disabled: false } });
    // The logins revoked when disabled stay revoked; a new one works.
    expect((await supergraph.query(REFRESH, { t: user.refreshToken })).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const again = await supergraph.query(LOGIN, { e: 'disabled.soon@example.com' });
    expect(again.errors).toBeUndefined();
    const review = await supergraph.query(ADD_REVIEW, { p: product }, user.headers);
    expect(review.errors).toBeUndefined();
  });

  it('admins cannot disable themselves, nor an unknown user', async () => {
    const admin = await supergraph.loginAs('ada');
    const self = await supergraph.query(`mutation($id: ID!) { disableUser(id: $id) { id } }`, { id: seedId('user', 'ada') }, admin);
    expect(self.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const unknown = await supergraph.query(`mutation { disableUser(id: "3f1d2c4b-0000-4000-8000-000000000000") { id } }`, {}, admin);
    expect(unknown.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it('with the accounts subgraph down, a signed-in write is refused (fail closed) and nothing is written', async () => {
    const edsger = await supergraph.loginAs('edsger');
    const accounts = supergraph.subgraphs.accounts!;
    const reviews = supergraph.subgraphs.reviews!;
    const before = await reviewsBy(seedId('user', 'edsger'));
    await accounts.stopServer();
    try {
      reviews.resetRequests();
      const response = await supergraph.query(ADD_REVIEW, { p: product }, edsger);
      expect(response.status).toBe(503);
      expect(response.errors?.[0]?.extensions).toMatchObject({ code: 'SUBGRAPH_UNAVAILABLE', subgraph: 'accounts' });
      expect(reviews.requests()).toBe(0);
      expect(await reviewsBy(seedId('user', 'edsger'))).toBe(before);
    } finally {
      await accounts.restartServer();
    }
    expect((await supergraph.query(ADD_REVIEW, { p: product }, edsger)).errors).toBeUndefined();
  });
});
