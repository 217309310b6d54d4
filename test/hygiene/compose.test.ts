import { execFile } from 'node:child_process';
import { copyFile, cp, mkdtemp, readFile, realpath, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { routingOf } from '../../gateway/supergraph/supergraph.js';
import { repoRoot } from '../../shared/config/paths.js';
import { subgraphs } from '../../subgraphs/index.js';
import { ensureBuilt } from '../support/built.js';

describe('npm run compose', () => {
  // A copy of the build, so that what compose writes lands there and not in the repository.
  let dir: string;
  beforeAll(async () => {
    await ensureBuilt();
    dir = await mkdtemp(join(tmpdir(), 'tessera-compose-'));
    await cp(join(repoRoot, 'dist'), join(dir, 'dist'), { recursive: true });
    for (const file of ['package.json', 'schema.graphql']) await copyFile(join(repoRoot, file), join(dir, file));
    await symlink(await realpath(join(repoRoot, 'node_modules')), join(dir, 'node_modules'));
  }, 300_000);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads only where the subgraphs are: it runs with NODE_ENV=production and no secrets', async () => {
    const env = { PATH: process.env.PATH, NODE_ENV: 'production', REVIEWS_URL: 'http://reviews.internal/graphql', CATALOG_PORT: '5002' };
    const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, ['dist/bin/compose.js'], { cwd: dir, env, timeout: 120_000 }, (error, out, err) =>
        resolve({ code: typeof error?.code === 'number' ? error.code : error ? 1 : 0, stdout: out, stderr: err }),
      );
    });
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toMatch(/Wrote supergraph\.graphql and schema\.graphql/);
    const routing = new Map(routingOf(await readFile(join(dir, 'supergraph.graphql'), 'utf8')).map((s) => [s.name, s.url]));
    expect(Object.fromEntries(routing)).toEqual(
      Object.fromEntries(
        subgraphs.map((s) => [
          s.name,
          s.name === 'reviews' ? 'http://reviews.internal/graphql' : `http://127.0.0.1:${s.name === 'catalog' ? 5002 : s.port}/graphql`,
        ]),
      ),
    );
  }, 120_000);
});
