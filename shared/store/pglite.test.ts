import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { createLogger } from '../observability/logger.js';
import { openStore, type Orm } from './orm.js';
import { pgliteTemplateDir } from './pglite.js';
import { stackEnvironment, stackNodeOptions } from '../../tooling/stack.js';
import { findSubgraph } from '../../subgraphs/index.js';
import { temporaryFolderForSuite } from '../../test/support/suite.js';

/*
 * The embedded demo's memory and start time (README, "Memory and start of the demo"): each
 * PGlite store runs with small buffers, and a new store is a copy of a template built once
 * per data folder rather than an `initdb` of its own. `npm run bench -- demo` measures the
 * effect on the whole stack; these tests hold the settings that make it.
 */

const logger = createLogger('test', { logLevel: 'silent', env: 'test' });
const definition = findSubgraph('catalog');
const inDataDir = temporaryFolderForSuite('tessera-pglite-');

const open = (name: string): Promise<Orm> =>
  openStore({ name: definition.name, store: { kind: 'pglite', dataDir: inDataDir(name) }, entities: definition.entities!, logger });
const setting = async (orm: Orm, name: string) =>
  ((await orm.em.fork().execute(`select current_setting('${name}') as value`)) as { value: string }[])[0]!.value;

describe('a PGlite store', () => {
  it('runs with 8 MB of shared buffers, not the 128 MB initdb leaves', async () => {
    for (const orm of [
      await open('first'),
      await openStore({ name: definition.name, store: { kind: 'pglite', dataDir: 'memory://' }, entities: definition.entities!, logger }),
    ]) {
      try {
        expect(await setting(orm, 'shared_buffers')).toBe('8MB');
        expect(await setting(orm, 'wal_buffers')).toBe('1MB');
      } finally {
        await orm.close();
      }
    }
  }, 120_000);

  it('is, when new, a copy of its data folder’s template, which is built once', async () => {
    const template = pgliteTemplateDir(inDataDir('first'));
    // Built by the first store of the folder (the test above).
    expect(existsSync(join(template, 'PG_VERSION'))).toBe(true);
    // A mark only a copy of this template can carry: a store made by its own initdb has none.
    await writeFile(join(template, 'tessera-template-mark'), 'copied');
    const orm = await open('second');
    try {
      expect(await readFile(inDataDir('second', 'tessera-template-mark'), 'utf8')).toBe('copied');
      expect(await setting(orm, 'shared_buffers')).toBe('8MB');
    } finally {
      await orm.close();
    }
  }, 120_000);

  it('reopens its own folder without copying the template over it', async () => {
    // The template still carries the mark of the test above.
    expect(existsSync(join(pgliteTemplateDir(inDataDir('first')), 'tessera-template-mark'))).toBe(true);
    const orm = await open('first');
    await orm.close();
    expect(existsSync(inDataDir('first', 'tessera-template-mark'))).toBe(false);
  }, 120_000);
});

describe('the processes of npm start', () => {
  it('get a small young generation, unless NODE_OPTIONS already sets one', () => {
    expect(stackNodeOptions(undefined)).toBe('--max-semi-space-size=1');
    expect(stackNodeOptions('--enable-source-maps')).toBe('--enable-source-maps --max-semi-space-size=1');
    expect(stackNodeOptions('--max-semi-space-size=8')).toBe('--max-semi-space-size=8');
    expect(stackEnvironment({})).toEqual({ NODE_OPTIONS: '--max-semi-space-size=1', MALLOC_ARENA_MAX: '2' });
    expect(stackEnvironment({ MALLOC_ARENA_MAX: '8' }).MALLOC_ARENA_MAX).toBe('8');
  });
});
