import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import { envPrefix } from '../shared/config.js';
import { repoRoot } from '../shared/paths.js';
import { subgraphs } from '../subgraphs/index.js';

const read = (file: string) => readFile(join(repoRoot, file), 'utf8');

/** The variable names of the README's configuration table, `<NAME>` patterns expanded per subgraph. */
async function documentedVariables(): Promise<Set<string>> {
  const readme = await read('README.md');
  const names = [...readme.matchAll(/^\| `([A-Z_<>]+)` \|/gm)].map((m) => m[1]!);
  return new Set(names.flatMap((name) => (name.includes('<NAME>') ? subgraphs.map((s) => name.replace('<NAME>', envPrefix(s.name))) : [name])));
}

/** Every variable `shared/config.ts` parses, per-subgraph ones as `<NAME>_…`. */
async function parsedVariables(): Promise<string[]> {
  const source = await read('shared/config.ts');
  const plain = [...source.matchAll(/^\s+([A-Z][A-Z0-9_]+): /gm)].map((m) => m[1]!);
  const perSubgraph = [...source.matchAll(/\[`\$\{prefix\}(_[A-Z0-9_]+)`\](?::| =) /g)].map((m) => `<NAME>${m[1]!}`);
  return [...new Set([...plain, ...perSubgraph])];
}

describe('README configuration', () => {
  it('documents in a table every variable the configuration parses', async () => {
    const readme = await read('README.md');
    const tableRows = readme.split('\n').filter((line) => line.startsWith('|')).join('\n');
    const variables = await parsedVariables();
    expect(variables.length).toBeGreaterThan(40);
    expect(variables.filter((name) => !tableRows.includes(`\`${name}\``))).toEqual([]);
  });
});

describe('docker-compose.yml', () => {
  it('sets only variables the README documents, and runs every registered subgraph', async () => {
    const compose = parse(await read('docker-compose.yml'), { merge: true }) as { services: Record<string, { build?: unknown; environment?: Record<string, string> }> };
    const documented = await documentedVariables();
    const ours = Object.entries(compose.services).filter(([, service]) => service.build);
    const used = ours.flatMap(([, service]) => Object.keys(service.environment ?? {}));
    expect(used.filter((name) => !documented.has(name))).toEqual([]);
    expect(ours.map(([name]) => name).sort()).toEqual([...subgraphs.map((s) => s.name), 'gateway'].sort());
  });
});
