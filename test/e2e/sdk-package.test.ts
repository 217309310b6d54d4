import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { repoRoot } from '../../shared/config/paths.js';
import { seedId } from '../../shared/store/seed.js';
import { REVIEW_ADDED } from '../../subgraphs/reviews/resolvers/review.resolver.js';
import { subscribersOf } from '../support/subscriptions.js';
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

/** A typed subscription through the installed package (its graphql-ws): the first review of a product, printed. */
const live = (
  url: string,
  productId: string,
) => `import { createClient, ReviewAddedDocument, type ReviewAddedSubscription } from '@tessera/sdk';

const client = createClient({ url: ${JSON.stringify(url)} });
for await (const event of client.subscribe(ReviewAddedDocument, { productId: ${JSON.stringify(productId)} })) {
  const { reviewAdded }: ReviewAddedSubscription = event;
  console.log(JSON.stringify({ body: reviewAdded.body, author: reviewAdded.author.username }));
  break;
}
`;

/** The same client getting it wrong, one mistake a line: tsc must refuse each. */
const wrong = `import { createClient, ProductDocument, StockChangedDocument } from '@tessera/sdk';

const client = createClient({ url: 'http://127.0.0.1:4000/graphql' });
const { product } = await client.request(ProductDocument, { id: 'p1' });
console.log(product?.nonexistentField);
await client.request(ProductDocument, { id: 'p1', reviews: 'two' });
client.subscribe(StockChangedDocument, { productIds: [true] });
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

  it("installs with nothing of the server's, and loads no package at run time but graphql-ws", async () => {
    const manifest = JSON.parse(await readFile(join(client, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    expect(Object.keys(manifest.dependencies)).toEqual(['@tessera/sdk']);
    const entries = await readdir(join(client, 'node_modules'), { recursive: true });
    const packages = entries.filter((path) => /^(@[^/.][^/]*\/[^/]+|[^@/.][^/]*)$/.test(path)).sort();
    // graphql-ws for subscriptions; the other dependency declares types only, and `graphql` is
    // the peer of both (graphql-ws's own optional peers, such as `ws`, are not installed).
    expect(packages).toEqual(['@graphql-typed-document-node/core', '@tessera/sdk', 'graphql', 'graphql-ws']);
    const sdk = join(client, 'node_modules/@tessera/sdk');
    const scripts = (await readdir(join(sdk, 'dist'), { recursive: true })).filter((path) => path.endsWith('.js'));
    // The error codes are the server's own module, compiled into the package, not a copy.
    expect(scripts).toEqual(expect.arrayContaining(['sdk/index.js', 'shared/errors/codes.js']));
    for (const script of scripts) {
      const imports = [...(await readFile(join(sdk, 'dist', script), 'utf8')).matchAll(/\bfrom\s+'([^']+)'/g)].map(
        ([, specifier]) => specifier!,
      );
      // The client's subscriptions are graphql-ws's; nothing else is imported.
      expect(imports.filter((specifier) => !specifier.startsWith('.'))).toEqual(script === 'sdk/client.js' ? ['graphql-ws'] : []);
    }
  });

  it('type-checks a typed query and a typed subscription with the repository tsc, refuses wrong ones, and runs both against a started gateway', async () => {
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
    const productId = seedId('product', '300000000003');
    await writeFile(join(client, 'live.ts'), live(supergraph.url, productId));
    await writeFile(join(client, 'tsconfig.json'), JSON.stringify({ compilerOptions, include: ['shop.ts', 'live.ts', 'wrong.ts'] }));
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
      { file: 'wrong.ts', line: lineOf('productIds: [true]'), code: 'TS2322' },
    ]);
    expect(output).toContain("Property 'nonexistentField' does not exist");

    const { stdout } = await run(process.execPath, [join(client, 'out/shop.js')], { cwd: client });
    expect(JSON.parse(stdout)).toEqual({ names: ['The Pragmatic Programmer', 'Designing Data-Intensive Applications'], cheapest: 2199 });

    // The subscription, in its own process: a review is added once it is subscribed.
    const reviews = supergraph.subgraphs.reviews!.pubSub;
    const before = reviews.subscriberCount(REVIEW_ADDED);
    const listening = run(process.execPath, [join(client, 'out/live.js')], { cwd: client, timeout: 30_000 });
    await subscribersOf(reviews, REVIEW_ADDED, before + 1, 15_000);
    const added = await supergraph.query(
      'mutation($input: AddReviewInput!) { addReview(input: $input) { id } }',
      { input: { productId, body: 'Heard from the package.', rating: 5 } },
      await supergraph.loginAs('alan'),
    );
    expect(added.errors).toBeUndefined();
    expect(JSON.parse((await listening).stdout)).toEqual({ body: 'Heard from the package.', author: 'alan' });
  });
});
