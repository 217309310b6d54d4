import { appendFile, copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import { envPrefix } from '../../shared/config/config.js';
import { repoRoot } from '../../shared/config/paths.js';
import { subgraphs } from '../../subgraphs/index.js';
import { spawnGateway, type SpawnedProcess } from '../support/processes.js';

/*
 * SIGHUP makes a gateway process load its supergraph again at once (what `npm run dev` sends
 * after restarting a subgraph), and never ends it, not even while it still waits for its
 * subgraphs (SIGHUP's default action is to terminate).
 */

let gateway: SpawnedProcess | undefined;
let dir: string | undefined;
afterEach(async () => {
  gateway?.child.kill('SIGKILL');
  await gateway?.exited;
  gateway = undefined;
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('SIGHUP to a gateway process', () => {
  it('reloads the supergraph at once, with no watch and no polling', async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-sighup-'));
    const file = join(dir, 'supergraph.graphql');
    await copyFile(join(repoRoot, 'supergraph.graphql'), file);
    gateway = spawnGateway({ NODE_ENV: 'test', SUPERGRAPH_PATH: file, SUPERGRAPH_WATCH: 'false', SUPERGRAPH_POLL_INTERVAL_MS: '0' });
    await gateway.logged('gateway listening');
    await appendFile(file, '\n# a new version\n');
    gateway.child.kill('SIGHUP');
    const reloaded = await gateway.logged('supergraph reloaded', 10_000);
    expect(reloaded).toMatchObject({ version: 2 });
    expect(gateway.child.exitCode).toBeNull();
  }, 40_000);

  it('does not end a gateway still waiting for its subgraphs', async () => {
    // Development composes from the subgraphs and waits for them; none answers on these ports.
    const closed = Object.fromEntries(subgraphs.map((s) => [`${envPrefix(s.name)}_URL`, 'http://127.0.0.1:9/graphql']));
    gateway = spawnGateway({ NODE_ENV: 'development', SUBGRAPH_WAIT_MS: '30000', ...closed });
    await gateway.logged('waiting for subgraphs');
    gateway.child.kill('SIGHUP');
    const outcome = await Promise.race([gateway.exited, new Promise((resolve) => setTimeout(() => resolve('still running'), 1_500))]);
    expect(outcome).toBe('still running');
  }, 40_000);
});
