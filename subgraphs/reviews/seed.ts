import type { EntityManager } from '../../shared/store/orm.js';
import { seedDate, seedId } from '../../shared/store/seed.js';
import { summariseAllReviews } from './rating-summary.js';
import { Review } from './entities/review.entity.js';

/** [product UPC, author username, rating, body]; ids refer to the other subgraphs' seeds. */
const reviews: [string, string, number, string][] = [
  ['100000000001', 'ada', 5, 'Still the best book on the craft.'],
  ['100000000001', 'grace', 4, 'Practical advice, a little dated in places.'],
  ['100000000002', 'edsger', 5, 'Explains replication better than anything else.'],
  ['100000000002', 'barbara', 5, 'Required reading for the whole team.'],
  ['100000000003', 'alan', 5, 'A classic for a reason.'],
  ['100000000004', 'barbara', 4, 'Short, sharp and right about complexity.'],
  ['100000000005', 'grace', 3, 'Good SQL, heavy going.'],
  ['200000000001', 'ada', 5, 'Seasoned well and heats evenly.'],
  ['200000000002', 'alan', 4, 'Sharp out of the box.'],
  ['200000000003', 'grace', 5, 'Pours exactly where you aim it.'],
  ['200000000005', 'edsger', 2, 'Loud, and the burrs wore quickly.'],
  ['300000000001', 'alan', 4, 'Roomy for two, packs small.'],
  ['300000000002', 'barbara', 5, 'Great grip on wet rock.'],
  ['300000000003', 'ada', 4, 'Keeps water cold all day.'],
  ['300000000004', 'edsger', 3, 'Bright, but the strap slips.'],
  ['400000000001', 'grace', 5, 'A joy to type on.'],
  ['400000000001', 'ada', 4, 'Loud switches, lovely feel.'],
  ['400000000002', 'alan', 5, 'The quiet I needed.'],
  ['400000000003', 'barbara', 3, 'Gets warm with two displays.'],
  ['400000000004', 'edsger', 4, 'Crisp text, stand wobbles.'],
  ['400000000005', 'grace', 5, 'Weeks of battery.'],
];

export async function seedReviews(em: EntityManager): Promise<void> {
  reviews.forEach(([upc, username, rating, body], i) => {
    em.create(Review, {
      id: seedId('review', String(i + 1)),
      product: seedId('product', upc),
      author: seedId('user', username),
      authorUsername: username,
      rating,
      body,
      createdAt: seedDate(i),
    });
  });
  await em.flush();
  await summariseAllReviews(em);
}
