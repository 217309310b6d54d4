import type { EntityManager } from '../../shared/store/orm.js';
import { seedDate, seedId } from '../../shared/store/seed.js';
import { User } from './entities/user.entity.js';
import { hashPassword } from './passwords.js';

/** Ids are `seedId('user', username)`; other subgraphs' seeds refer to them that way. */
const users = [
  { username: 'ada', name: 'Ada Lovelace', roles: ['admin'] },
  { username: 'grace', name: 'Grace Hopper', roles: ['staff'] },
  { username: 'alan', name: 'Alan Turing', roles: ['customer'] },
  { username: 'edsger', name: 'Edsger Dijkstra', roles: ['customer'] },
  { username: 'barbara', name: 'Barbara Liskov', roles: ['customer'] },
];

/** Every seed user signs in as `<username>@example.com` with this password (development data only). */
export const SEED_PASSWORD = 'tessera-demo-password';

export async function seedAccounts(em: EntityManager): Promise<void> {
  const passwordHash = await hashPassword(SEED_PASSWORD);
  users.forEach(({ username, name, roles }, i) => {
    em.create(User, {
      id: seedId('user', username),
      username,
      name,
      roles,
      passwordHash,
      email: `${username}@example.com`,
      createdAt: seedDate(200 - i),
    });
  });
  await em.flush();
}
