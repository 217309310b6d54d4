import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from '@jest/globals';
import { staleSdk } from '../../tooling/checks.js';
import { repoRoot } from '../../shared/config/paths.js';

const run = promisify(execFile);
const GENERATED = ['sdk/generated/gql.ts', 'sdk/generated/graphql.ts', 'sdk/generated/persisted-documents.json'];

/**
 * A copy of what the SDK is made from and of the SDK itself (codegen.yml, schema.graphql,
 * sdk/), with the repository's node_modules linked in, to change without touching the repository.
 */
async function copyProject(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tessera-sdk-'));
  await symlink(join(repoRoot, 'node_modules'), join(dir, 'node_modules'), 'dir');
  // shared/errors/codes.ts: the server's error codes, which the SDK compiles in (sdk/tsconfig.json).
  for (const entry of ['codegen.yml', 'schema.graphql', 'sdk', 'shared/errors/codes.ts']) {
    await cp(join(repoRoot, entry), join(dir, entry), { recursive: true });
  }
  return dir;
}

/** `npm run codegen` in that copy (Jest already runs on the project's Node 24). */
async function codegen(dir: string): Promise<{ failed: boolean; output: string }> {
  // As from a shell: with NODE_ENV=test (Jest's), codegen keeps its errors to itself.
  const { NODE_ENV: _testEnv, ...env } = process.env;
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      [join(repoRoot, 'node_modules/@graphql-codegen/cli/cjs/bin.js'), '--config', 'codegen.yml'],
      { cwd: dir, env },
    );
    return { failed: false, output: stdout + stderr };
  } catch (error) {
    const { stdout, stderr } = error as { stdout: string; stderr: string };
    return { failed: true, output: stdout + stderr };
  }
}

interface TypeError {
  file: string;
  line: number;
  code: string;
  message: string;
}

/** `tsc --noEmit` over the copy's sdk/ and the given files: the errors it reports. */
async function typecheck(dir: string, files: Record<string, string>): Promise<TypeError[]> {
  for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content);
  const tsconfig = {
    compilerOptions: {
      target: 'ES2023',
      lib: ['ES2023'],
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      types: ['node'],
    },
    include: ['sdk', ...Object.keys(files)],
  };
  await writeFile(join(dir, 'tsconfig.json'), JSON.stringify(tsconfig));
  const output = await run(process.execPath, [join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', dir, '--pretty', 'false'], {
    cwd: dir,
  }).then(
    ({ stdout }) => stdout,
    (error: { stdout: string }) => error.stdout,
  );
  return [...output.matchAll(/^(.+?)\((\d+),\d+\): error (TS\d+): (.+)$/gm)].map(([, file, line, code, message]) => ({
    file: file!,
    line: Number(line),
    code: code!,
    message: message!,
  }));
}

const client = `import { AddReviewDocument, createClient, MeDocument, ProductDocument } from './sdk/index.js';
const client = createClient({ url: 'http://127.0.0.1:4000/graphql' });
`;

/** Typed use of the SDK that must compile. */
const correctUse = `${client}
export async function shop(): Promise<string[]> {
  const { product } = await client.request(ProductDocument, { id: 'p1', reviews: 2 });
  const { me } = await client.request(MeDocument);
  const { addReview } = await client.request(AddReviewDocument, { input: { productId: 'p1', rating: 5, body: 'Good.' } });
  return [product?.name ?? '', String(product?.price.amount), me?.username ?? '', addReview.author.username];
}
`;

/** One mistake per line, each of which tsc must name (line numbers are asserted below). */
const misuse = `${client}
export async function mistakes() {
  const { product } = await client.request(ProductDocument, { id: 'p1' });
  product?.nonexistentField;
  product?.reviews.edges[0]?.node.author.email;
  await client.request(ProductDocument, { id: 'p1', reviews: 'two' });
  await client.request(ProductDocument);
  await client.request(AddReviewDocument, { input: { productId: 'p1', rating: 5 } });
}
`;

/** Reads `Product.weight`, which the Product operation selects today. */
const readsWeight = `${client}
export async function weight(): Promise<number | undefined> {
  return (await client.request(ProductDocument, { id: 'p1' })).product?.weight;
}
`;

describe('the generated SDK', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  describe('npm run check', () => {
    it('passes the repository as committed: sdk/generated is what codegen generates now', async () => {
      expect(await staleSdk()).toEqual({ errors: [], stale: [], unexpected: [] });
    });

    it('finds the SDK stale when an operation changed and codegen was not run', async () => {
      dir = await copyProject();
      const me = join(dir, 'sdk/operations/Me.graphql');
      await writeFile(me, (await readFile(me, 'utf8')).replace('    roles\n', ''));
      expect(await staleSdk(dir)).toEqual({ errors: [], stale: GENERATED, unexpected: [] });
      // and codegen brings it back in line
      expect((await codegen(dir)).failed).toBe(false);
      expect(await staleSdk(dir)).toEqual({ errors: [], stale: [], unexpected: [] });
    });

    it('finds a generated file edited by hand, and a file codegen does not write', async () => {
      dir = await copyProject();
      await writeFile(
        join(dir, 'sdk/generated/graphql.ts'),
        (await readFile(join(dir, 'sdk/generated/graphql.ts'), 'utf8')).replace('averageRating: number | null', 'averageRating: number'),
      );
      await writeFile(join(dir, 'sdk/generated/helpers.ts'), 'export const extra = 1;\n');
      expect(await staleSdk(dir)).toEqual({ errors: [], stale: ['sdk/generated/graphql.ts'], unexpected: ['sdk/generated/helpers.ts'] });
    });

    it('finds the SDK stale when schema.graphql changed under it', async () => {
      dir = await copyProject();
      const schema = join(dir, 'schema.graphql');
      // Product.description becomes nullable: the Product operation's result type changes.
      const changed = (await readFile(schema, 'utf8')).replace(
        '  name: String!\n  description: String!\n',
        '  name: String!\n  description: String\n',
      );
      expect(changed).not.toBe(await readFile(schema, 'utf8'));
      await writeFile(schema, changed);
      expect(await staleSdk(dir)).toEqual({ errors: [], stale: ['sdk/generated/graphql.ts'], unexpected: [] });
    });
  });

  describe('an operation selecting a field that does not exist', () => {
    it('is refused by codegen, naming the field and where it is, and nothing is written', async () => {
      dir = await copyProject();
      await writeFile(
        join(dir, 'sdk/operations/Broken.graphql'),
        'query Broken($id: ID!) {\n  product(id: $id) {\n    id\n    nonexistentField\n  }\n}\n',
      );
      const before = await readFile(join(dir, 'sdk/generated/graphql.ts'), 'utf8');
      const { failed, output } = await codegen(dir);
      expect(failed).toBe(true);
      expect(output).toContain('Cannot query field "nonexistentField" on type "Product".');
      expect(output).toContain('sdk/operations/Broken.graphql:4:5');
      expect(await readFile(join(dir, 'sdk/generated/graphql.ts'), 'utf8')).toBe(before);
      // npm run check reports the same
      const { errors } = await staleSdk(dir);
      expect(errors.join('\n')).toContain('Cannot query field "nonexistentField" on type "Product".');
    });
  });

  describe('tsc --noEmit over code using the SDK', () => {
    it('passes typed use, and fails on every field the operation does not select and every wrong variable', async () => {
      dir = await copyProject();
      const errors = await typecheck(dir, { 'correct-use.ts': correctUse, 'misuse.ts': misuse });
      expect(errors.filter((error) => error.file !== 'misuse.ts')).toEqual([]);
      const line = (text: string) => misuse.split('\n').findIndex((l) => l.includes(text)) + 1;
      expect(errors.map(({ line, code }) => [line, code])).toEqual([
        [line('nonexistentField'), 'TS2339'],
        [line('author.email'), 'TS2339'],
        [line("reviews: 'two'"), 'TS2322'],
        [line('request(ProductDocument);'), 'TS2554'],
        [line('rating: 5 } }'), 'TS2741'],
      ]);
      expect(errors[0]!.message).toContain("Property 'nonexistentField' does not exist");
      expect(errors[1]!.message).toContain("Property 'email' does not exist on type '{ username: string; }'");
      expect(errors[4]!.message).toContain("Property 'body' is missing");
    });

    it('fails on code reading a field once the operation stops selecting it and the SDK is regenerated', async () => {
      dir = await copyProject();
      expect(await typecheck(dir, { 'reads-weight.ts': readsWeight })).toEqual([]);
      const product = join(dir, 'sdk/operations/Product.graphql');
      await writeFile(product, (await readFile(product, 'utf8')).replace('    weight\n', ''));
      expect((await codegen(dir)).failed).toBe(false);
      const errors = await typecheck(dir, { 'reads-weight.ts': readsWeight });
      const line = readsWeight.split('\n').findIndex((l) => l.includes('?.weight')) + 1;
      expect(errors).toEqual([
        { file: 'reads-weight.ts', line, code: 'TS2339', message: expect.stringContaining("Property 'weight' does not exist") },
      ]);
    });
  });
});
