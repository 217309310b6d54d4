import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { repoRoot } from '../../shared/config/paths.js';
import { abusiveIntrospection, introspectionDocuments } from '../support/introspection-documents.js';
import { postGraphQL } from '../support/subgraph.js';
import { supergraphForSuite } from '../support/supergraph.js';

const run = promisify(execFile);

describe('introspection through the gateway', () => {
  const supergraph = supergraphForSuite({ env: 'development' });
  let development: string;
  let production: string;
  beforeAll(async () => {
    development = supergraph.url;
    production = (await supergraph.startGateway({ env: 'production' })).url;
  });

  it.each(Object.entries(introspectionDocuments))('answers the introspection %s sends in development', async (_, query) => {
    const { status, errors, data } = await postGraphQL(development, query);
    expect(errors).toBeUndefined();
    expect(status).toBe(200);
    expect(data?.__schema?.types?.map((type: { name: string }) => type.name)).toEqual(
      expect.arrayContaining(['Query', 'Product', 'Review']),
    );
  });

  it.each(Object.entries(abusiveIntrospection))('refuses %s with its code', async (_, { query, code }) => {
    const { status, errors } = await postGraphQL(development, query);
    expect(status).toBe(400);
    expect(errors?.[0]?.extensions?.code).toBe(code);
    expect(JSON.stringify(errors)).not.toMatch(/at .*\.ts:\d+/);
  });

  it('still refuses introspection in production, where it is disabled', async () => {
    const { errors } = await postGraphQL(production, introspectionDocuments['graphql-js, every option']!);
    expect(errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('lets GraphQL Code Generator load the schema from the gateway URL', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tessera-codegen-url-'));
    try {
      await writeFile(
        join(dir, 'codegen.json'),
        JSON.stringify({ schema: development, generates: { [join(dir, 'schema.graphql')]: { plugins: ['schema-ast'] } } }),
      );
      // As from a shell: with NODE_ENV=test (Jest's), codegen keeps its errors to itself.
      const { NODE_ENV: _testEnv, ...env } = process.env;
      const outcome = await run(
        process.execPath,
        [join(repoRoot, 'node_modules/@graphql-codegen/cli/cjs/bin.js'), '--config', join(dir, 'codegen.json')],
        { cwd: repoRoot, env },
      ).then(
        () => '',
        (error: { stdout: string; stderr: string }) => error.stdout + error.stderr,
      );
      expect(outcome).toBe('');
      const schema = await readFile(join(dir, 'schema.graphql'), 'utf8');
      expect(schema).toMatch(/topProducts\(/);
      expect(schema).toMatch(/type Review/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
