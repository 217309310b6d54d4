import type { Pool, PoolClient } from 'pg';

type Release = PoolClient['release'];

/**
 * Keeps connections the server drops from leaking out of the pool.
 *
 * Kysely 0.29 (under MikroORM 7.2) releases a transaction's connection only after its
 * `commit`/`rollback` statement succeeds. When PostgreSQL goes away mid-transaction both fail,
 * so the connection is never handed back: pg's pool counts it as in use for ever, and after
 * `max` such outages every request waits for a connection that never comes (and shutdown
 * waits on them too). So a checked-out connection that ends is released here, with its
 * error, which makes the pool discard it; any later release of it is ignored rather than
 * thrown (pg throws on a second release, which would mask the query's own error).
 */
export function releaseDroppedConnections(pool: Pool): void {
  pool.on('connect', (client: PoolClient) => {
    let release: Release | undefined;
    // pg-pool assigns a fresh `release` at every checkout: wrap each one so it runs at most once.
    Object.defineProperty(client, 'release', {
      configurable: true,
      get: () => release,
      set(assigned: Release) {
        let released = false;
        release = (error?: Error | boolean) => {
          if (released) return;
          released = true;
          assigned(error);
        };
      },
    });
    // Released already (idle) makes this a no-op; the pool's own idle listener drops those.
    client.once('end', () => release?.(new Error('The PostgreSQL connection ended while in use.')));
  });
}
