import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdtemp, readdir, readFile, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import { deriveNames } from '../../tooling/scaffold/names.js';
import { registerInDockerCompose, registerInIndex, registerInPrometheus } from '../../tooling/scaffold/registration.js';
import { repoRoot } from '../../shared/config/paths.js';
import { subgraphs } from '../../subgraphs/index.js';

/*
 * `npm run new:subgraph` end to end, on a copy of the repository (sources only, node_modules
 * linked): refusals write nothing, a failure half-way is undone, and a new subgraph composes,
 * migrates, type-checks and passes its own tests there, as the README promises.
 */

const NAME = 'gift-lists';
/** What the repository registers now; the new subgraph comes after, on the next port. */
const REGISTERED = subgraphs.map((subgraph) => subgraph.name);
const NEXT_PORT = Math.max(...subgraphs.map((subgraph) => subgraph.port)) + 1;
/** What a copy leaves out at its root: installed, built and local things. */
const NOT_COPIED = new Set(['node_modules', 'dist', 'data', 'coverage', '.git']);

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A script or tool on this Node, in `cwd`; never rejects, so steps can run side by side. */
function node(cwd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd, env, timeout: 150_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
    });
  });
}

/** Every file of the copy but the installed and built ones, by content hash: to see that nothing was written. */
async function snapshot(root: string, dir = root, files: Record<string, string> = {}): Promise<Record<string, string>> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (dir === root && NOT_COPIED.has(entry.name)) continue;
    if (entry.isDirectory()) await snapshot(root, path, files);
    else
      files[relative(root, path)] = createHash('sha1')
        .update(await readFile(path))
        .digest('hex');
  }
  return files;
}

describe('the names of a new subgraph', () => {
  it.each([
    [
      'wishlists',
      undefined,
      {
        entity: 'Wishlist',
        entityVariable: 'wishlist',
        entityPlural: 'wishlists',
        entityFile: 'wishlist',
        variable: 'wishlists',
        envPrefix: 'WISHLISTS',
      },
    ],
    [
      'order-history',
      undefined,
      {
        entity: 'OrderHistory',
        entityVariable: 'orderHistory',
        entityPlural: 'orderHistories',
        entityFile: 'order-history',
        variable: 'orderHistory',
        envPrefix: 'ORDER_HISTORY',
      },
    ],
    ['addresses', undefined, { entity: 'Address', entityPlural: 'addresses' }],
    ['routes', 'HTTPRoute', { entity: 'HTTPRoute', entityVariable: 'httpRoute', entityPlural: 'httpRoutes', entityFile: 'http-route' }],
  ])('from %s', (name, entity, expected) => {
    expect(deriveNames(name, 4005, entity)).toMatchObject(expected);
  });

  it.each(['migrate', 'all'])("refuses %s (docker-compose's migrations service; `npm run migrate -- all`)", (name) => {
    expect(() => deriveNames(name, 4005)).toThrow(
      expect.objectContaining({ exitCode: 2, message: expect.stringMatching(new RegExp(`^"${name}" is reserved`)) }),
    );
  });

  it('refuses an entity name that is a keyword once camel-cased, with exit code 2', () => {
    expect(() => deriveNames('news', 4005)).toThrow(
      expect.objectContaining({
        exitCode: 2,
        message: expect.stringMatching(/^The entity name "New" is reserved \(a GraphQL built-in, a JavaScript keyword/),
      }),
    );
  });
});

describe('registering a new subgraph', () => {
  const names = deriveNames('gift-lists', 4005);

  it('appends to a registry list written one subgraph a line, keeping that layout', () => {
    const registry = `import { a } from './a/index.js';\nimport { b } from './b/index.js';\n\nexport const subgraphs = [\n    a,\n    b,\n];\n`;
    expect(registerInIndex(registry, names)).toBe(
      `import { a } from './a/index.js';\nimport { b } from './b/index.js';\nimport { giftLists } from './gift-lists/index.js';\n\nexport const subgraphs = [\n    a,\n    b,\n    giftLists,\n];\n`,
    );
  });

  it('says which file is not in the expected shape', () => {
    const refusal = () => registerInIndex(`import { a } from './a/index.js';\nexport const all = [a];\n`, names);
    expect(refusal).toThrow(/^subgraphs\/index\.ts: found no `export const subgraphs = \[\.\.\.\]` list\. Register the subgraph by hand/);
    expect(() => registerInDockerCompose('services:\n  gateway:\n    image: x\n', names, ['a'])).toThrow(
      /^docker-compose\.yml: expected services with a gateway/,
    );
  });

  it("adds a scrape job like the last subgraph's to the Prometheus configuration", () => {
    const job = (name: string) => `  - job_name: ${name}\n    static_configs:\n      - targets: ["${name}:9464"]\n`;
    const config = `# Scrapes every process.\nscrape_configs:\n${job('gateway')}${job('catalog')}${job('reviews')}`;
    expect(registerInPrometheus(config, names, ['catalog', 'reviews'])).toBe(`${config}${job('gift-lists')}`);
    expect(() => registerInPrometheus(`scrape_configs:\n${job('gateway')}`, names, ['catalog'])).toThrow(
      /^ops\/prometheus\/prometheus\.yml: found no scrape job of a registered subgraph/,
    );
  });

  it('adds a service like the others to docker-compose.yml, and only adds lines', async () => {
    const original = await readFile(join(repoRoot, 'docker-compose.yml'), 'utf8');
    const edited = registerInDockerCompose(original, names, ['accounts', 'catalog', 'inventory', 'reviews']);
    // Every line of the original is still there, in order, comments included: 13 lines were inserted.
    const originalLines = original.split('\n');
    let kept = 0;
    for (const line of edited.split('\n')) if (line === originalLines[kept]) kept++;
    expect([kept, edited.split('\n').length]).toEqual([originalLines.length, originalLines.length + 13]);

    const before = (parse(original, { merge: true }) as { services: Record<string, any> }).services;
    const after = (parse(edited, { merge: true }) as { services: Record<string, any> }).services;
    const catalog = before.catalog;
    expect(after['gift-lists']).toEqual({
      ...catalog,
      command: ['node', 'dist/bin/subgraph.js', 'gift-lists'],
      environment: { ...catalog.environment, CATALOG_PORT: undefined, GIFT_LISTS_PORT: '4005' },
      healthcheck: { ...catalog.healthcheck, test: catalog.healthcheck.test.map((part: string) => part.replace('4002', '4005')) },
    });
    expect(after.gateway.environment.GIFT_LISTS_URL).toBe('http://gift-lists:4005/graphql');
    expect(after.gateway.depends_on['gift-lists']).toEqual({ condition: 'service_healthy' });
    expect({ ...after, 'gift-lists': undefined, gateway: undefined }).toEqual({ ...before, gateway: undefined });
  });
});

describe('npm run new:subgraph', () => {
  let dir: string;
  const scaffold = (...args: string[]) => node(dir, ['dist/bin/new-subgraph.js', ...args]);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-scaffold-'));
    const copied = (source: string) =>
      !(dirname(source) === repoRoot && NOT_COPIED.has(basename(source))) && !source.endsWith('.tsbuildinfo');
    await cp(repoRoot, dir, { recursive: true, filter: copied });
    await symlink(await realpath(join(repoRoot, 'node_modules')), join(dir, 'node_modules'));
    const build = await node(dir, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json']);
    expect(build).toMatchObject({ code: 0 });
  }, 120_000);
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('refuses bad, reserved and taken names and entity names another subgraph has, with exit code 2, writing nothing', async () => {
    const before = await snapshot(dir);
    const refusals: [string[], RegExp][] = [
      [['Bad_Name'], /"Bad_Name" is not a valid subgraph name\. Use 2 to 30 characters/],
      [['x'], /"x" is not a valid subgraph name/],
      [['gateway'], /"gateway" is reserved/],
      [['catalog'], /A subgraph named "catalog" already exists \(in subgraphs\/index\.ts\)/],
      [
        ['users'],
        /The GraphQL names of entity "User" are taken in the supergraph: type User \(accounts\).*Query\.user \(accounts\).*--entity/,
      ],
      [['offers', '--entity', 'Product'], /type Product \(catalog\)/],
      [['offers', '--entity', 'offer'], /"offer" is not a valid entity name/],
      [[], /Usage: npm run new:subgraph -- <name>/],
    ];
    for (const [args, message] of refusals) {
      const result = await scaffold(...args);
      expect({ args, code: result.code, stderr: result.stderr }).toEqual({ args, code: 2, stderr: expect.stringMatching(message) });
    }
    expect(await snapshot(dir)).toEqual(before);
  });

  it('undoes everything it wrote when a later step fails', async () => {
    // A type error elsewhere in the tree makes the build after writing fail.
    await writeFile(join(dir, 'shared', 'broken.ts'), "export const broken: number = 'not a number';\n");
    try {
      const before = await snapshot(dir);
      const result = await scaffold(NAME);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/The build failed:[\s\S]*shared\/broken\.ts[\s\S]*Nothing was kept/);
      expect(await snapshot(dir)).toEqual(before);
    } finally {
      await rm(join(dir, 'shared', 'broken.ts'));
    }
  }, 120_000);

  describe(`then \`npm run new:subgraph -- ${NAME}\``, () => {
    let created: Run;
    let compose: Promise<{ compose: Run; check: Run }>;
    let migrations: Promise<Run[]>;
    let typecheck: Promise<Run>;
    let tests: Promise<Run>;

    beforeAll(async () => {
      created = await scaffold(NAME);
      if (created.code !== 0) return;
      // The steps that follow are independent of one another: run them side by side.
      compose = node(dir, ['dist/bin/compose.js']).then(async (result) => ({
        compose: result,
        check: await node(dir, ['dist/bin/check.js']),
      }));
      // Its PGlite store in the copy, whatever the environment says.
      const storeEnv: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: join(dir, 'data') };
      delete storeEnv.DATABASE_URL;
      delete storeEnv.GIFT_LISTS_DATABASE_URL;
      migrations = (async () => {
        const steps: Run[] = [];
        for (const command of ['up', 'status', 'down', 'status'])
          steps.push(await node(dir, ['dist/bin/migrate.js', NAME, command], storeEnv));
        return steps;
      })();
      typecheck = node(dir, ['node_modules/typescript/bin/tsc', '--noEmit', '-p', 'tsconfig.json']);
      tests = node(dir, [
        '--experimental-vm-modules',
        'node_modules/jest/bin/jest.js',
        '--ci',
        '--json',
        `subgraphs/${NAME}/`,
        'test/hygiene/docs.test.ts',
      ]);
    }, 150_000);

    it('creates the subgraph and its first migration, and registers it', async () => {
      expect(created).toMatchObject({ code: 0, stderr: '' });
      const migration = /migrations\/gift-lists\/Migration\d+_initial\.ts/.exec(created.stdout)?.[0];
      expect(migration).toBeDefined();
      const files = Object.keys(await snapshot(dir))
        .filter((file) => file.includes(NAME))
        .sort();
      expect(files).toEqual([
        migration,
        'subgraphs/gift-lists/entities/gift-list.entity.ts',
        'subgraphs/gift-lists/index.ts',
        'subgraphs/gift-lists/loaders.ts',
        'subgraphs/gift-lists/resolvers/gift-list.inputs.ts',
        'subgraphs/gift-lists/resolvers/gift-list.resolver.ts',
        'subgraphs/gift-lists/seed.ts',
        'subgraphs/gift-lists/test/gift-lists.test.ts',
      ]);
      expect(await readFile(join(dir, migration!), 'utf8')).toMatch(/create table "gift_list"/);
      const registry = await readFile(join(dir, 'subgraphs', 'index.ts'), 'utf8');
      expect(registry).toContain("import { giftLists } from './gift-lists/index.js';");
      const listed = registry
        .match(/export const subgraphs[^=]*= \[([^\]]*)\]/)?.[1]
        ?.split(',')
        .map((entry) => entry.trim())
        .filter(Boolean);
      expect(listed).toEqual([
        ...REGISTERED.map((name) => name.replace(/-(\w)/g, (_, letter: string) => letter.toUpperCase())),
        'giftLists',
      ]);
      expect(await readFile(join(dir, 'README.md'), 'utf8')).toContain(
        '| `gift-lists` | `GiftList` | `Query.giftList(id)`, `Query.giftLists(first, after)`, `Mutation.createGiftList` |',
      );
    });

    it('composes with it, and `npm run check` passes', async () => {
      const { compose: composed, check } = await compose;
      expect(composed).toMatchObject({ code: 0, stdout: expect.stringContaining(`(${[...REGISTERED, NAME].join(', ')})`) });
      const supergraph = await readFile(join(dir, 'supergraph.graphql'), 'utf8');
      expect(supergraph).toContain(`GIFT_LISTS @join__graph(name: "gift-lists", url: "http://127.0.0.1:${NEXT_PORT}/graphql")`);
      expect(await readFile(join(dir, 'schema.graphql'), 'utf8')).toMatch(/createGiftList\(input: CreateGiftListInput!\): GiftList!/);
      expect(check).toMatchObject({
        code: 0,
        stdout: expect.stringContaining(`${REGISTERED.length + 1} subgraphs agree with their migrations`),
      });
    }, 150_000);

    it('migrates its PGlite store up and down, with status in between', async () => {
      const [up, executed, down, pending] = await migrations;
      expect(up).toMatchObject({ code: 0, stdout: expect.stringMatching(/^Applied: Migration\d+_initial$/m) });
      expect(executed).toMatchObject({ code: 0, stdout: expect.stringMatching(/^executed {2}Migration\d+_initial$/m) });
      expect(down).toMatchObject({ code: 0, stdout: expect.stringMatching(/^Reverted: Migration\d+_initial$/m) });
      expect(pending).toMatchObject({ code: 0, stdout: expect.stringMatching(/^pending {3}Migration\d+_initial$/m) });
    }, 150_000);

    it('type-checks, tests included', async () => {
      const result = await typecheck;
      expect({ code: result.code, output: result.stdout }).toEqual({ code: 0, output: '' });
    }, 150_000);

    it("passes its own tests, and the docs' check of docker-compose.yml", async () => {
      const result = await tests;
      const report = JSON.parse(result.stdout) as {
        numFailedTests: number;
        numPassedTests: number;
        testResults: { name: string; status: string; message: string }[];
      };
      // The message (empty when a suite passed) says what failed.
      expect(report.testResults.map((suite) => [relative(dir, suite.name), suite.status, suite.message]).sort()).toEqual([
        ['subgraphs/gift-lists/test/gift-lists.test.ts', 'passed', ''],
        ['test/hygiene/docs.test.ts', 'passed', ''],
      ]);
      expect(report.numFailedTests).toBe(0);
      expect(report.numPassedTests).toBeGreaterThanOrEqual(6);
      expect(result.code).toBe(0);
    }, 150_000);

    it('refuses the same name a second time', async () => {
      await Promise.all([compose, migrations, typecheck, tests]);
      const again = await scaffold(NAME);
      expect(again).toMatchObject({ code: 2, stderr: expect.stringContaining('A subgraph named "gift-lists" already exists') });
    }, 150_000);
  });

  describe('then `npm run new:subgraph -- weather --no-store`', () => {
    let created: Run;
    let steps: Promise<{ compose: Run; check: Run; migrate: Run; typecheck: Run; tests: Run }>;

    beforeAll(async () => {
      created = await scaffold('weather', '--no-store');
      if (created.code !== 0) return;
      steps = (async () => {
        const [composed, migrate, typecheck, tests] = await Promise.all([
          node(dir, ['dist/bin/compose.js']),
          node(dir, ['dist/bin/migrate.js', 'weather', 'up']),
          node(dir, ['node_modules/typescript/bin/tsc', '--noEmit', '-p', 'tsconfig.json']),
          node(dir, ['--experimental-vm-modules', 'node_modules/jest/bin/jest.js', '--ci', '--json', 'subgraphs/weather/']),
        ]);
        return { compose: composed, check: await node(dir, ['dist/bin/check.js']), migrate, typecheck, tests };
      })();
    }, 150_000);

    it('writes a subgraph with its own test and no entity or migration; compose, check and migrate take it; it type-checks and passes its tests', async () => {
      expect(created).toMatchObject({ code: 0, stderr: '', stdout: expect.stringContaining('Created the weather subgraph (no store') });
      const files = Object.keys(await snapshot(dir))
        .filter((file) => file.includes('weather'))
        .sort();
      expect(files).toEqual([
        'subgraphs/weather/index.ts',
        'subgraphs/weather/resolvers/status.resolver.ts',
        'subgraphs/weather/test/weather.test.ts',
      ]);
      const { compose: composed, check, migrate, typecheck, tests } = await steps;
      expect(composed).toMatchObject({ code: 0, stdout: expect.stringContaining(`(${[...REGISTERED, NAME, 'weather'].join(', ')})`) });
      expect(await readFile(join(dir, 'schema.graphql'), 'utf8')).toMatch(/weatherStatus: WeatherStatus!/);
      expect(check).toMatchObject({
        code: 0,
        stdout: expect.stringMatching(
          new RegExp(
            `weather has no store \\(no entities\\): no migrations to check\\.[\\s\\S]*${REGISTERED.length + 1} subgraphs agree with their migrations`,
          ),
        ),
      });
      expect(migrate).toMatchObject({ code: 0, stdout: 'No store (the subgraph declares no entities): nothing to migrate or seed.\n' });
      expect({ code: typecheck.code, output: typecheck.stdout }).toEqual({ code: 0, output: '' });
      const report = JSON.parse(tests.stdout) as { numFailedTests: number; numPassedTests: number; testResults: { message: string }[] };
      expect({
        failed: report.numFailedTests,
        passed: report.numPassedTests,
        messages: report.testResults.map((suite) => suite.message),
      }).toEqual({ failed: 0, passed: 2, messages: [''] });
    }, 300_000);
  });
});
