import { execFile } from 'node:child_process';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from '@jest/globals';
import { repoRoot } from '../../shared/config/paths.js';

/*
 * Every script builds first, so the build of an unchanged tree must cost next to nothing:
 * `npm run build` is tsc's build mode, which compares the sources with what it recorded at the
 * last build and, when none changed, writes nothing and compiles nothing. (How long that takes
 * is not asserted here; the README gives the numbers measured.)
 */
const run = promisify(execFile);
const tsc = join(repoRoot, 'node_modules/typescript/bin/tsc');

/** `npm run build`'s tsc arguments, from package.json. */
async function buildArgs(): Promise<string[]> {
  const { scripts } = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const [command, ...args] = scripts.build!.split(/\s+/);
  expect(command).toBe('tsc');
  return args;
}

async function mtimes(dir: string): Promise<Map<string, number>> {
  const files = await readdir(dir, { recursive: true, withFileTypes: true });
  const entries = await Promise.all(
    files
      .filter((f) => f.isFile())
      .map(async (f) => [relative(dir, join(f.parentPath, f.name)), (await stat(join(f.parentPath, f.name))).mtimeMs] as const),
  );
  return new Map(entries);
}

describe('npm run build', () => {
  it('writes no file and compiles nothing when no source changed since the last build', async () => {
    const args = await buildArgs();
    // Brings dist/ up to date if it is not (the suite runs on a built tree, so normally a no-op).
    await run(process.execPath, [tsc, ...args], { cwd: repoRoot });
    const before = await mtimes(join(repoRoot, 'dist'));
    const { stdout } = await run(process.execPath, [tsc, ...args, '--verbose'], { cwd: repoRoot });
    expect(stdout).toMatch(/is up to date/);
    expect(await mtimes(join(repoRoot, 'dist'))).toEqual(before);
  }, 120_000);

  it('records what it built inside dist/, so deleting dist/ makes the next build a full one', async () => {
    const args = await buildArgs();
    const project = args.find((arg) => arg.endsWith('.json'))!;
    const { stdout } = await run(process.execPath, [tsc, '--showConfig', '-p', project], { cwd: repoRoot });
    const { compilerOptions } = JSON.parse(stdout) as {
      compilerOptions: { outDir: string; incremental?: boolean; tsBuildInfoFile: string };
    };
    const outDir = resolve(repoRoot, compilerOptions.outDir);
    expect(relative(outDir, resolve(repoRoot, compilerOptions.tsBuildInfoFile))).not.toMatch(/^\.\./);
  });
});
