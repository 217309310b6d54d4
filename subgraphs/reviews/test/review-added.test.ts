import { afterEach, describe, expect, it } from '@jest/globals';
import type { Client } from 'graphql-ws';
import { seedId } from '../../../shared/store/seed.js';
import { testIdentity } from '../../../test/support/config.js';
import { subgraphForSuite } from '../../../test/support/subgraph.js';
import { signedClient, subscribeOn, subscribersOf } from '../../../test/support/subscriptions.js';
import { reviews } from '../index.js';
import { REVIEW_ADDED } from '../resolvers/review.resolver.js';

const ada = testIdentity('ada');
const watched = seedId('product', '100000000002');
const other = seedId('product', '100000000003');
const ADD = `mutation($input: AddReviewInput!) { addReview(input: $input) { id } }`;
const REVIEW_ADDED_QUERY = `subscription($productId: ID) { reviewAdded(productId: $productId) { id body rating author { id username } product { id } } }`;

describe('Subscription.reviewAdded', () => {
  const subgraph = subgraphForSuite(reviews, { seed: false });
  const clients: Client[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.dispose()));
    await subscribersOf(subgraph.pubSub, REVIEW_ADDED, 0);
  });

  it("hears the reviews of the product it names, with the author reviews provides, and not another product's", async () => {
    const variables = { productId: watched };
    const client = signedClient(subgraph.url, REVIEW_ADDED_QUERY, variables);
    clients.push(client);
    const events = subscribeOn(client, REVIEW_ADDED_QUERY, variables);
    await subscribersOf(subgraph.pubSub, REVIEW_ADDED);
    await subgraph.query(ADD, { input: { productId: other, body: 'Not this one.', rating: 2 } }, ada);
    const added = await subgraph.query(ADD, { input: { productId: watched, body: 'This one.', rating: 4 } }, ada);
    expect((await events.next()).data).toEqual({
      reviewAdded: {
        id: added.data!.addReview.id,
        body: 'This one.',
        rating: 4,
        author: { id: ada.userId, username: 'ada' },
        product: { id: watched },
      },
    });
  });

  it('hears nothing of a review refused', async () => {
    const client = signedClient(subgraph.url, REVIEW_ADDED_QUERY);
    clients.push(client);
    const events = subscribeOn(client, REVIEW_ADDED_QUERY);
    await subscribersOf(subgraph.pubSub, REVIEW_ADDED);
    const refused = await subgraph.query(ADD, { input: { productId: watched, body: 'Anonymous.', rating: 4 } });
    expect(refused.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const invalid = await subgraph.query(ADD, { input: { productId: watched, body: 'Too good.', rating: 6 } }, ada);
    expect(invalid.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    await subgraph.query(ADD, { input: { productId: other, body: 'Kept.', rating: 1 } }, ada);
    expect((await events.next()).data?.reviewAdded).toMatchObject({ body: 'Kept.', product: { id: other } });
  });

  it('gives an event whose review is gone as NOT_FOUND, and goes on', async () => {
    const client = signedClient(subgraph.url, REVIEW_ADDED_QUERY);
    clients.push(client);
    const events = subscribeOn(client, REVIEW_ADDED_QUERY);
    await subscribersOf(subgraph.pubSub, REVIEW_ADDED);
    // Deleted between its publication and its delivery: what the resolver finds is nothing.
    const gone = '5d6a7f10-0c1e-4a43-9d43-2d1f6f0c0001';
    subgraph.pubSub.publish(REVIEW_ADDED, { reviewId: gone, productId: watched });
    const missing = await events.next();
    expect(missing.data).toBeNull();
    expect(missing.errors).toEqual([
      expect.objectContaining({ path: ['reviewAdded'], extensions: expect.objectContaining({ code: 'NOT_FOUND' }) }),
    ]);
    await subgraph.query(ADD, { input: { productId: watched, body: 'Still here.', rating: 5 } }, ada);
    expect((await events.next()).data?.reviewAdded).toMatchObject({ body: 'Still here.' });
  });
});
