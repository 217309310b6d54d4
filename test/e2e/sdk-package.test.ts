import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { repoRoot } from '../../shared/config/paths.js';
import { startTestSupergraph, type TestSupergraph } from '../support/supergraph.js';

const run = promisify(execFile);

/**
 * The environment without what the outer `npm test` sets (`npm_config_*`, `npm_package_*`):
 * the npm commands below must act on the client project alone, not on the repository.
 */
const cleanEnv = () => Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('npm_') && name !== 'NODE_ENV'));
const npm = (args: string[], cwd: string) => run('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd, env: cleanEnv() });

/** A client team's code: typed queries through the installed package, printing what it got. */
const shop = (url: string) => `import { createClient, ProductsDocument, TopProductsDocument, type TopProductsQuery } from '@tessera/sdk';

const client = createClient({ url: ${JSON.stringify(url)} });
const { topProducts }: TopProductsQuery = await client.request(TopProductsDocument, { first: 2 });
const { products } = await client.request(ProductsDocument, { first: 1, orderBy: { field: 'PRICE', direction: 'ASC' } });
const names: string[] = topProducts.map((product) => product.name);
const cheapest: number = products.edges[0]!.node.price.amount;
console.log(JSON.stringify({ names, cheapest }));
`;

/** The same client getting it wrong, one mistake a line: tsc must refuse each. */
const wrong = `import { createClient, ProductDocument } from '@tessera/sdk';

const client = createClient({ url: 'http://127.0.0.1:4000/graphql' });
const { product } = await client.request(ProductDocument, { id: 'p1' });
console.log(product?.nonexistentField);
await client.request(ProductDocument, { id: 'p1', reviews: 'two' });
`;

interface TypeError {
  file: string;
  line: number;
  code: string;
}

describe('the SDK as a package a client installs', () => {
  let supergraph: TestSupergraph;
  let dir: string;
  let client: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-client-'));
    client = join(dir, 'shop-client');
    // `npm pack ./sdk` builds sdk/dist (prepack) and writes the tarball a client team installs.
    await npm(['pack', join(repoRoot, 'sdk'), '--pack-destination', dir], repoRoot);
    await mkdir(client);
    await writeFile(join(client, 'package.json'), JSON.stringify({ name: 'shop-client', private: true, type: 'module' }));
    // From the tarball; its dependencies come from npm's cache, where the root install put them.
    await npm(['install', '--prefer-offline', join(dir, 'tessera-sdk-0.1.0.tgz')], client);
  }, 60_000);
  afterAll(async () => {
    await supergraph?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("installs with nothing of the server's, and loads no package at run time", async () => {
    const manifest = JSON.parse(await readFile(join(client, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    expect(Object.keys(manifest.dependencies)).toEqual(['@tessera/sdk']);
    const entries = await readdir(join(client, 'node_modules'), { recursive: true });
    const packages = entries.filter((path) => /^(@[^/.][^/]*\/[^/]+|[^@/.][^/]*)$/.test(path)).sort();
    // The SDK's one dependency declares types only; `graphql` is its peer, for those types.
    expect(packages).toEqual(['@graphql-typed-document-node/core', '@tessera/sdk', 'graphql']);
    const sdk = join(client, 'node_modules/@tessera/sdk');
    const scripts = (await readdir(join(sdk, 'dist'), { recursive: true })).filter((path) => path.endsWith('.js'));
    // The error codes are the server's own module, compiled into the package, not a copy.
    expect(scripts).toEqual(expect.arrayContaining(['sdk/index.js', 'shared/errors/codes.js']));
    for (const script of scripts) {
      const imports = [...(await readFile(join(sdk, 'dist', script), 'utf8')).matchAll(/\bfrom\s+'([^']+)'/g)].map(
        ([, specifier]) => specifier!,
      );
      expect(imports.filter((specifier) => !specifier.startsWith('.'))).toEqual([]);
    }
  });

  it('type-checks a typed query with the repository tsc, refuses a wrong field, and runs it against a started gateway', async () => {
    // Started only now: the steps above leave a started supergraph's databases idle for seconds.
    supergraph = await startTestSupergraph({ responseCache: false });
    await writeFile(join(client, 'shop.ts'), shop(supergraph.url));
    await writeFile(join(client, 'wrong.ts'), wrong);
    const compilerOptions = {
      target: 'ES2022',
      lib: ['ES2022', 'DOM'],
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      strict: true,
      types: [],
      outDir: 'out',
    };
    await writeFile(join(client, 'tsconfig.json'), JSON.stringify({ compilerOptions, include: ['shop.ts', 'wrong.ts'] }));
    const output = await run(process.execPath, [join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', client, '--pretty', 'false'], {
      cwd: client,
    }).then(
      ({ stdout }) => stdout,
      (error: { stdout: string }) => error.stdout,
    );
    const errors: TypeError[] = [...output.matchAll(/^(.+?)\((\d+),\d+\): error (TS\d+): /gm)].map(([, file, line, code]) => ({
      file: file!,
      line: Number(line),
      code: code!,
    }));
    const lineOf = (text: string) => wrong.split('\n').findIndex((line) => line.includes(text)) + 1;
    // shop.ts compiles; wrong.ts fails exactly where it is wrong
    expect(errors).toEqual([
      { file: 'wrong.ts', line: lineOf('nonexistentField'), code: 'TS2339' },
      { file: 'wrong.ts', line: lineOf("reviews: 'two'"), code: 'TS2322' },
    ]);
    expect(output).toContain("Property 'nonexistentField' does not exist");

    const { stdout } = await run(process.execPath, [join(client, 'out/shop.js')], { cwd: client });
    expect(JSON.parse(stdout)).toEqual({ names: ['The Pragmatic Programmer', 'Designing Data-Intensive Applications'], cheapest: 2199 });
  });
});
