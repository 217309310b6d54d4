import type { EntityManager } from '../../shared/orm.js';
import { seedDate, seedId } from '../../shared/seed.js';
import { User } from './entities/user.entity.js';

/** Ids are `seedId('user', username)`; other subgraphs' seeds refer to them that way. */
const users = [
  { username: 'ada', name: 'Ada Lovelace' },
  { username: 'grace', name: 'Grace Hopper' },
  { username: 'alan', name: 'Alan Turing' },
  { username: 'edsger', name: 'Edsger Dijkstra' },
  { username: 'barbara', name: 'Barbara Liskov' },
];

export async function seedAccounts(em: EntityManager): Promise<void> {
  users.forEach(({ username, name }, i) => {
    em.create(User, { id: seedId('user', username), username, name, email: `${username}@example.com`, createdAt: seedDate(200 - i) });
  });
  await em.flush();
}
