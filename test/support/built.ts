import { execFile } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { repoRoot } from '../../shared/config/paths.js';

/** The folders `npm run build` compiles that processes are started from. */
const SOURCES = ['bin', 'shared', 'gateway', 'tooling', 'subgraphs'];

async function sourcesNewerThanBuild(dir: string): Promise<string[]> {
  const stale: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'test') stale.push(...(await sourcesNewerThanBuild(path)));
    } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
      const built = join(repoRoot, 'dist', relative(repoRoot, path).replace(/\.ts$/, '.js'));
      const [source, output] = await Promise.all([stat(path), stat(built).catch(() => undefined)]);
      if (!output || output.mtimeMs < source.mtimeMs) stale.push(path);
    }
  }
  return stale;
}

/**
 * For tests that run the built scripts as a person does (`node dist/…`): builds first, as
 * every npm script does, when a source is newer than what `dist/` holds.
 */
export async function ensureBuilt(): Promise<void> {
  const stale = (await Promise.all(SOURCES.map((dir) => sourcesNewerThanBuild(join(repoRoot, dir))))).flat();
  if (!stale.length) return;
  await new Promise<void>((resolve, reject) => {
    execFile(
      process.execPath,
      [join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
      { cwd: repoRoot, timeout: 300_000 },
      (error, stdout) => (error ? reject(new Error(`npm run build failed:\n${stdout}`)) : resolve()),
    );
  });
}
