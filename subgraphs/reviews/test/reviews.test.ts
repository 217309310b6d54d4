import { describe, expect, it } from '@jest/globals';
import { seedId } from '../../../shared/store/seed.js';
import { testIdentity } from '../../../test/support/config.js';
import { executorForSuite } from '../../../test/support/in-process.js';
import { subgraphForSuite } from '../../../test/support/subgraph.js';
import { Review } from '../entities/review.entity.js';
import { reviews } from '../index.js';

const ada = testIdentity('ada');
const grace = testIdentity('grace');
const product = seedId('product', '100000000004');

const ADD = `mutation($input: AddReviewInput!) { addReview(input: $input) { id rating body author { id username } product { id } } }`;
const DELETE = `mutation($id: ID!) { deleteReview(id: $id) }`;
const PRODUCT_REVIEWS = `query($reps: [_Any!]!, $after: String) { _entities(representations: $reps) { ... on Product { averageRating reviews(first: 1, after: $after) { totalCount edges { node { body } } pageInfo { hasNextPage endCursor } } } } }`;

describe('reviews', () => {
  const subgraph = subgraphForSuite(reviews);
  const execute = executorForSuite(reviews, subgraph);

  it('adds a review as the caller, with the username it provides', async () => {
    const { data, errors } = await execute(ADD, { input: { productId: product, body: 'Changed how I design modules.', rating: 5 } }, ada);
    expect(errors).toBeUndefined();
    expect(data?.addReview).toMatchObject({ rating: 5, author: { id: ada.userId, username: 'ada' }, product: { id: product } });
  });

  it('refuses a rating outside 1 to 5 and an empty body, naming the fields', async () => {
    const { errors } = await execute(ADD, { input: { productId: product, body: '', rating: 6 } }, ada);
    expect(errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT' });
    const fields = (errors?.[0]?.extensions?.fields as { field: string }[]).map((f) => f.field).sort();
    expect(fields).toEqual(['input.body', 'input.rating']);
  });

  it("lets a user delete their own review but not another's", async () => {
    const { data } = await execute(ADD, { input: { productId: product, body: 'Mine', rating: 3 } }, ada);
    const id = data?.addReview.id;
    const forbidden = await execute(DELETE, { id }, grace);
    expect(forbidden.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(await subgraph.orm.em.fork().findOne(Review, id)).not.toBeNull();

    const deleted = await execute(DELETE, { id }, ada);
    expect(deleted.data?.deleteReview).toBe(id);
    expect(await subgraph.orm.em.fork().findOne(Review, id)).toBeNull();

    const again = await execute(DELETE, { id }, ada);
    expect(again.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it("pages a product's reviews newest first and keeps the total past the last page", async () => {
    const reps = [{ __typename: 'Product', id: seedId('product', '100000000001') }];
    const first = await execute(PRODUCT_REVIEWS, { reps });
    let page = first.data?._entities[0].reviews;
    for (const [body, hasNextPage] of [
      ['Still the best book on the craft.', true],
      ['Practical advice, a little dated in places.', false],
    ] as const) {
      expect(page).toMatchObject({ totalCount: 2, edges: [{ node: { body } }], pageInfo: { hasNextPage } });
      page = (await execute(PRODUCT_REVIEWS, { reps, after: page.pageInfo.endCursor })).data?._entities[0].reviews;
    }
    expect(page).toMatchObject({ totalCount: 2, edges: [], pageInfo: { hasNextPage: false } });
    expect(first.data?._entities[0].averageRating).toBe(4.5);
  });

  it('refuses a forged cursor as BAD_USER_INPUT', async () => {
    const { errors } = await execute(PRODUCT_REVIEWS, { reps: [{ __typename: 'Product', id: product }], after: 'bm90LWEtY3Vyc29y' });
    expect(errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});
