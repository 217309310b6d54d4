import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

// `npm run lint`: correctness rules only (formatting is Prettier's), and the import boundaries
// the README's Architecture section states. Tests may import anything.
const root = import.meta.dirname;
const subgraphNames = readdirSync(join(root, 'subgraphs'), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name);

/** The packages that make a process a subgraph: the ORM, its driver, the schema builder. */
const subgraphPackages = ['@mikro-orm/*', 'pg', 'type-graphql', '@apollo/subgraph'];

export default defineConfig(
  { ignores: ['**/dist/', 'data/', 'coverage/', 'test-output/', 'sdk/generated/'] },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      // Sources import './x.js' (NodeNext): resolve it to './x.ts', as tsc does.
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js', '.json'], extensionAlias: { '.js': ['.ts', '.js'] } })],
    },
    rules: {
      // `_`-prefixed names are the way to skip a required parameter or leave a property out of a rest.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Strict mode already refuses implicit `any`; the explicit ones are meant (JSON bodies in tests,
      // arguments whose type each resolver chooses, the registry's definitions of any loaders).
      '@typescript-eslint/no-explicit-any': 'off',
      // TypeGraphQL and MikroORM type a class as `Function`; the definitions pass theirs on.
      '@typescript-eslint/no-unsafe-function-type': 'off',
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      // An import the resolver cannot follow would also slip past the boundaries below.
      'import-x/no-unresolved': 'error',
    },
  },
  {
    files: ['gateway/**/*.ts', 'bin/gateway.ts'],
    ignores: ['**/*.test.ts', '**/test/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [{ group: subgraphPackages, message: 'The gateway needs only the supergraph: no ORM, driver or subgraph framework.' }],
        },
      ],
      'import-x/no-restricted-paths': [
        'error',
        {
          basePath: root,
          zones: [
            {
              target: ['gateway', 'bin/gateway.ts'],
              from: ['subgraphs', 'tooling', 'shared/subgraph', 'shared/store'],
              message: 'The gateway needs only the supergraph and its own config; composition and the registry belong to tooling.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['subgraphs/**/*.ts', 'shared/**/*.ts'],
    ignores: ['**/*.test.ts', '**/test/**'],
    rules: {
      'import-x/no-restricted-paths': [
        'error',
        {
          basePath: root,
          zones: [
            ...subgraphNames.map((name) => ({
              target: `subgraphs/${name}`,
              from: 'subgraphs',
              except: [`./${name}`],
              message: 'A subgraph owns its code: it reaches another only through the supergraph (entity references).',
            })),
            { target: 'subgraphs', from: ['gateway', 'tooling', 'bin'], message: 'A subgraph builds on shared/ only.' },
            {
              target: 'shared',
              from: ['gateway', 'subgraphs', 'tooling', 'bin'],
              message: 'shared/ is what every process builds on: it imports none of them.',
            },
          ],
        },
      ],
    },
  },
);
