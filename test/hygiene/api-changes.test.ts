import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { classifyApiChanges, writeSchemaFiles } from '../../tooling/checks.js';
import { registryRoutes } from '../../tooling/compose.js';
import { repoRoot } from '../../shared/config/paths.js';
import { subgraphs } from '../../subgraphs/index.js';

const routing = registryRoutes({}, subgraphs);

describe('changes to the public API (npm run compose)', () => {
  let committed: string;
  let dir: string;
  beforeAll(async () => {
    committed = await readFile(join(repoRoot, 'schema.graphql'), 'utf8');
    dir = await mkdtemp(join(tmpdir(), 'tessera-compose-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('classifies a removed field as breaking and an added one as safe', async () => {
    const changes = await classifyApiChanges('type Query { a: String b: Int }', 'type Query { a: String c: Int }');
    expect(changes).toEqual({
      breaking: ["Field 'b' was removed from object type 'Query'"],
      dangerous: [],
      safe: ["Field 'c' was added to object type 'Query'"],
    });
  });

  it('refuses to write a breaking change unless it is accepted', async () => {
    // The committed schema plus a field the code does not have: composing now removes it.
    const withExtra = committed.replace('type Query {', 'type Query {\n  retiredField: String');
    await writeFile(join(dir, 'schema.graphql'), withExtra);
    const refused = await writeSchemaFiles(subgraphs, routing, { root: dir });
    expect(refused).toMatchObject({ written: false, changes: { breaking: ["Field 'retiredField' was removed from object type 'Query'"] } });
    expect(await readFile(join(dir, 'schema.graphql'), 'utf8')).toBe(withExtra);

    const accepted = await writeSchemaFiles(subgraphs, routing, { root: dir, acceptBreaking: true });
    expect(accepted.written).toBe(true);
    expect(await readFile(join(dir, 'schema.graphql'), 'utf8')).toBe(committed);
  });

  it('writes a change that only adds, and says it is safe', async () => {
    const withoutCategories = committed.replace('  """Every category, by name."""\n  categories: [Category!]!\n', '');
    expect(withoutCategories).not.toBe(committed);
    await writeFile(join(dir, 'schema.graphql'), withoutCategories);
    const result = await writeSchemaFiles(subgraphs, routing, { root: dir });
    expect(result).toMatchObject({
      written: true,
      changes: { breaking: [], safe: expect.arrayContaining(["Field 'categories' was added to object type 'Query'"]) },
    });
  });
});
