import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { repoRoot } from '../../shared/config/paths.js';
import { GATEWAY_V8_FLAGS } from '../../tooling/stack.js';
import { importGraph } from '../support/import-graph.js';

/*
 * What `npm ci` and the Docker image rely on, read from the files themselves (offline; no
 * npm, no Docker engine): the lockfile, the Dockerfile, .dockerignore, .env.example, and the
 * import graph of the processes the image runs.
 */

const read = (file: string) => readFile(join(repoRoot, file), 'utf8');

interface LockedPackage {
  version?: string;
  dev?: boolean;
  link?: boolean;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}
interface Lockfile {
  lockfileVersion: number;
  packages: Record<string, LockedPackage>;
}
type Manifest = Pick<LockedPackage, 'dependencies' | 'devDependencies' | 'optionalDependencies' | 'peerDependencies'>;

/** The locked path Node would find `name` at from the package at `from` (its own node_modules, then each parent's). */
function locate(lock: Lockfile, from: string, name: string): string | undefined {
  for (let dir = from; ;) {
    const candidate = `${dir ? `${dir}/` : ''}node_modules/${name}`;
    if (lock.packages[candidate]) return candidate;
    if (!dir) return undefined;
    const parent = dir.lastIndexOf('/node_modules/');
    dir = parent === -1 ? '' : dir.slice(0, parent);
  }
}

describe('package-lock.json', () => {
  it("declares package.json's dependencies exactly", async () => {
    const manifest = JSON.parse(await read('package.json')) as Manifest;
    const lock = JSON.parse(await read('package-lock.json')) as Lockfile;
    const root = lock.packages['']!;
    for (const field of ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies'] as const) {
      expect({ field, ranges: root[field] }).toEqual({ field, ranges: manifest[field] });
    }
  });

  it("locks every dependency of every package, other platforms' optional binaries included (what `npm ci` refuses without)", async () => {
    const lock = JSON.parse(await read('package-lock.json')) as Lockfile;
    expect(lock.lockfileVersion).toBe(3);
    const missing: string[] = [];
    for (const [path, entry] of Object.entries(lock.packages)) {
      if (entry.link) continue;
      // Development dependencies are installed for the project itself (and its workspaces), never for a package it installs.
      const ownDev = path.startsWith('node_modules/') ? {} : entry.devDependencies;
      for (const name of Object.keys({ ...entry.dependencies, ...entry.optionalDependencies, ...ownDev })) {
        if (!locate(lock, path, name)) missing.push(`${name} (for ${path || 'the project'})`);
      }
    }
    expect(missing).toEqual([]);
  });
});

/** Each stage of a Dockerfile: its name and its instructions, continuation lines joined. */
function stages(dockerfile: string): { name: string; instructions: string[] }[] {
  const instructions = dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
  const result: { name: string; instructions: string[] }[] = [];
  for (const instruction of instructions) {
    const from = /^FROM\s+\S+(?:\s+AS\s+(\S+))?/i.exec(instruction);
    if (from) result.push({ name: from[1] ?? String(result.length), instructions: [] });
    else result.at(-1)!.instructions.push(instruction);
  }
  return result;
}

describe('.ci/run', () => {
  it('installs with `npm ci`', async () => {
    const commands = (await read('.ci/run')).split('\n').filter((line) => /^\s*npm\s/.test(line));
    expect(commands.filter((line) => /^\s*npm (ci|install|i)\b/.test(line))).toEqual([expect.stringMatching(/^npm ci\b/)]);
  });
});

describe('the Docker image', () => {
  it('installs with `npm ci` only: the build stage everything, the runtime its production dependencies', async () => {
    const all = stages(await read('Dockerfile'));
    const npmRuns = all.flatMap((stage) =>
      stage.instructions.filter((i) => /^RUN\b.*\bnpm\s/.test(i)).map((i) => ({ stage: stage.name, run: i })),
    );
    expect(npmRuns.length).toBeGreaterThan(0);
    expect(npmRuns.filter(({ run }) => !/^RUN npm ci\b/.test(run) || /\bnpm (install|i|update|prune)\b/.test(run))).toEqual([]);

    const runtime = all.at(-1)!;
    expect(runtime.name).toBe('runtime');
    // The runtime installs nothing itself; its node_modules come from one stage, which omits devDependencies.
    expect(runtime.instructions.filter((i) => /^RUN\b/.test(i))).toEqual([]);
    const modules = runtime.instructions.filter((i) => /^COPY\b.*\bnode_modules\b/.test(i));
    expect(modules).toHaveLength(1);
    const source = /--from=(\S+)/.exec(modules[0]!)?.[1];
    const deps = all.find((stage) => stage.name === source);
    expect(deps?.instructions.filter((i) => /^RUN npm ci\b/.test(i))).toEqual([expect.stringMatching(/\s--omit=dev\b/)]);
    // Nothing else is copied in whole: no `COPY . .` that would bring whatever lies around.
    expect(all.flatMap((stage) => stage.instructions).filter((i) => /^COPY\s+(--\S+\s+)*\.\s/.test(i))).toEqual([]);
  });

  it('carries no PGlite: its packages are development dependencies only, which the runtime omits', async () => {
    const manifest = JSON.parse(await read('package.json')) as Manifest;
    const lock = JSON.parse(await read('package-lock.json')) as Lockfile;
    const pglite = Object.entries(lock.packages).filter(([path]) => /(^|\/)node_modules\/@[^/]+\/pglite$/.test(path));
    expect(pglite.map(([path]) => path).sort()).toEqual(['node_modules/@electric-sql/pglite', 'node_modules/@mikro-orm/pglite']);
    expect(pglite.filter(([, entry]) => !entry.dev).map(([path]) => path)).toEqual([]);
    expect(Object.keys(manifest.dependencies ?? {}).filter((name) => name.includes('pglite'))).toEqual([]);
  });

  it('runs processes that import, when loaded, only production dependencies (PGlite only lazily, for a PGlite store)', async () => {
    const manifest = JSON.parse(await read('package.json')) as Manifest;
    const migrationFiles = (await readdir(join(repoRoot, 'migrations'), { recursive: true }))
      .filter((file) => file.endsWith('.ts'))
      .map((file) => join('migrations', file));
    // What the image's CMD and docker-compose.yml run, and the migrations they load by path.
    const graph = await importGraph(['bin/gateway.ts', 'bin/subgraph.ts', 'bin/migrate.ts', ...migrationFiles]);
    expect(graph.size).toBeGreaterThan(50);
    const production = new Set(Object.keys(manifest.dependencies ?? {}));
    const outside = [...graph].flatMap(([file, packages]) =>
      packages.filter((name) => !production.has(name)).map((name) => `${relative(repoRoot, file)} imports ${name}`),
    );
    expect(outside).toEqual([]);
  });

  it('is built from a context that leaves out secrets, stores, installed and built files', async () => {
    const ignored = (await read('.dockerignore')).split('\n').map((line) => line.trim());
    for (const entry of ['.env', '.env.*', 'data', 'node_modules', 'dist', '.git', 'coverage'])
      expect({ entry, ignored: ignored.includes(entry) }).toEqual({ entry, ignored: true });
  });
});

describe("the gateway's V8 flags", () => {
  it('are what the image, docker-compose and `npm run start:gateway` start the gateway with', async () => {
    const image = stages(await read('Dockerfile'))
      .flatMap((stage) => stage.instructions)
      .find((line) => line.startsWith('CMD'));
    const compose = (await read('docker-compose.yml')).split('\n').find((line) => line.includes('dist/bin/gateway.js'));
    const script = (JSON.parse(await read('package.json')) as { scripts: Record<string, string> }).scripts['start:gateway'];
    for (const launcher of [image, compose, script]) {
      expect(launcher).toContain('dist/bin/gateway.js');
      for (const flag of GATEWAY_V8_FLAGS) expect(launcher).toContain(flag);
    }
  });
});

describe('.env.example', () => {
  /** Its variables, each with the comment lines above it. */
  async function entries(): Promise<{ name: string; value: string; comment: string }[]> {
    const result: { name: string; value: string; comment: string }[] = [];
    let comment: string[] = [];
    for (const line of (await read('.env.example')).split('\n')) {
      if (line.startsWith('#')) comment.push(line);
      else if (line.trim()) {
        const [, name, value] = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line) ?? [undefined, line, ''];
        result.push({ name: name!, value: value!, comment: comment.join('\n') });
        comment = [];
      } else comment = [];
    }
    return result;
  }

  it('names every variable docker-compose.yml takes from the environment, and only those', async () => {
    const compose = await read('docker-compose.yml');
    const interpolated = new Set([...compose.matchAll(/\$\{([A-Z][A-Z0-9_]*)/g)].map((m) => m[1]!));
    expect((await entries()).map((entry) => entry.name).sort()).toEqual([...interpolated].sort());
  });

  it('says how to generate each secret compose requires, with values to paste, not shell to run', async () => {
    const compose = await read('docker-compose.yml');
    const required = new Set([...compose.matchAll(/\$\{([A-Z][A-Z0-9_]*):\?/g)].map((m) => m[1]!));
    expect(required.size).toBeGreaterThanOrEqual(3);
    for (const entry of await entries()) {
      // Compose reads `KEY=value` literally: a `$(…)` or backticks would be the value itself.
      expect({ name: entry.name, value: entry.value }).toEqual({ name: entry.name, value: expect.stringMatching(/^[^$`]*$/) });
      if (required.has(entry.name)) {
        expect({ name: entry.name, value: entry.value, comment: entry.comment }).toEqual({
          name: entry.name,
          value: '',
          comment: expect.stringMatching(/^# Generate with: openssl rand -(base64|hex) \d+$/m),
        });
      }
    }
    expect((await read('.gitignore')).split('\n')).toContain('.env');
  });
});
