// Jest runs the TypeScript sources as native ES modules (MikroORM 7 is ESM only),
// compiled per file by SWC with decorator metadata, which TypeGraphQL needs.
import { availableParallelism } from 'node:os';

/** @type {import('jest').Config} */
export default {
  // Most suites wait on child processes, PostgreSQL and Redis rather than compute, and each has
  // its own databases and free ports: two workers even on two cores (Jest's default there is one).
  maxWorkers: Math.max(2, availableParallelism() - 1),
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      {
        jsc: {
          parser: { syntax: 'typescript', decorators: true },
          transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
          target: 'es2023',
        },
        module: { type: 'es6' },
      },
    ],
  },
  // Sources import './x.js' (NodeNext); in Jest the file is './x.ts'.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testMatch: ['<rootDir>/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  globalSetup: '<rootDir>/test/global-setup.ts',
  testTimeout: 60_000,
};
