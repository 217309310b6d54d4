import { basename, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The root the running code was loaded from: `dist/` when compiled, the repository when
 * Jest runs the sources. Migrations are looked up below it, so each mode finds its own.
 */
export const buildRoot = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');

/** The repository itself (where sources, migrations and `supergraph.graphql` are written). */
export const repoRoot = basename(buildRoot) === 'dist' ? resolve(buildRoot, '..') : buildRoot;
