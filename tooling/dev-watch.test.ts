import { describe, expect, it } from '@jest/globals';
import { GATEWAY, parseTscLine, processesToRestart } from './dev-watch.js';

const names = ['accounts', 'catalog', 'inventory', 'reviews'];

describe('npm run dev: which processes a rebuild restarts', () => {
  it('restarts only the subgraph whose own files or migrations changed', () => {
    expect(processesToRestart(['subgraphs/reviews/review.resolver.js', 'subgraphs/reviews/review.resolver.js.map'], names)).toEqual([
      'reviews',
    ]);
    expect(processesToRestart(['migrations/catalog/Migration20260101000000.js'], names)).toEqual(['catalog']);
    expect(processesToRestart(['subgraphs/inventory/a.js', 'subgraphs/accounts/b.js'], names)).toEqual(['accounts', 'inventory']);
  });

  it('restarts every subgraph and the gateway for shared/ and the registry', () => {
    expect(processesToRestart(['shared/subgraph/money.js'], names)).toEqual([...names, GATEWAY]);
    expect(processesToRestart(['subgraphs/index.js'], names)).toEqual([...names, GATEWAY]);
  });

  it('restarts every subgraph, not the gateway, for the subgraph entry script', () => {
    expect(processesToRestart(['bin/subgraph.js'], names)).toEqual(names);
  });

  it('restarts the gateway alone for gateway/', () => {
    expect(processesToRestart(['gateway/rate-limit/plugin.js'], names)).toEqual([GATEWAY]);
  });

  it('restarts nothing for files no process runs, or a subgraph not registered yet', () => {
    const none = [
      '.tsbuildinfo.build',
      'bench/run.js',
      'examples/shop.js',
      'sdk/index.js',
      'bin/compose.js',
      'bin/dev.js',
      'subgraphs/payments/index.js',
      'migrations/payments/M.js',
    ];
    expect(processesToRestart(none, names)).toEqual([]);
  });

  it('reads tsc --watch --listEmittedFiles output: written files and the end of each build', () => {
    expect(parseTscLine('TSFILE: /repo/dist/shared/subgraph/money.js')).toEqual({
      kind: 'emitted',
      path: '/repo/dist/shared/subgraph/money.js',
    });
    expect(parseTscLine('3:22:18 PM - Found 0 errors. Watching for file changes.')).toEqual({ kind: 'done', errors: 0 });
    expect(parseTscLine('[15:22:18] Found 1 error. Watching for file changes.')).toEqual({ kind: 'done', errors: 1 });
    expect(parseTscLine("shared/subgraph/money.ts(3,7): error TS2322: Type 'string' is not assignable to type 'number'.")).toEqual({
      kind: 'other',
    });
  });
});
