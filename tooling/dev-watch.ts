/** The gateway's name among the processes `npm run dev` runs (the others are the subgraphs, by name). */
export const GATEWAY = 'gateway';

/**
 * Which processes must restart to run what tsc has just written: `emitted` are paths relative
 * to dist/ (a `.map` stands for its `.js`). A subgraph's own files or migrations restart that
 * subgraph; `shared/` is loaded by every process, the subgraphs' entry script (`bin/subgraph.js`) by every
 * subgraph, the registry (`subgraphs/index.js`) by all of them and the gateway; `gateway/` and
 * `bin/gateway.js` restart the gateway. A subgraph not in the registry yet (being scaffolded), the scripts,
 * benchmarks, examples and the SDK run in no process here. Subgraphs come in registry order,
 * the gateway last (it composes from them).
 */
export function processesToRestart(emitted: readonly string[], subgraphNames: readonly string[]): string[] {
  const restart = new Set<string>();
  const everything = () => [...subgraphNames, GATEWAY].forEach((name) => restart.add(name));
  for (const path of emitted) {
    const [top, second] = path.replaceAll('\\', '/').split('/');
    if (top === 'shared' || path === 'subgraphs/index.js' || path === 'subgraphs/index.js.map') everything();
    else if (top === 'gateway' || (top === 'bin' && /^gateway\.js(\.map)?$/.test(second ?? ''))) restart.add(GATEWAY);
    else if (top === 'bin' && /^subgraph\.js(\.map)?$/.test(second ?? '')) subgraphNames.forEach((name) => restart.add(name));
    else if ((top === 'subgraphs' || top === 'migrations') && second && subgraphNames.includes(second)) restart.add(second);
  }
  return [...subgraphNames, GATEWAY].filter((name) => restart.has(name));
}

type TscLine = { kind: 'emitted'; path: string } | { kind: 'done'; errors: number } | { kind: 'other' };

/**
 * One line of `tsc -b --watch --listEmittedFiles`: a file it wrote (`TSFILE: <absolute path>`),
 * the end of a build (`… Found 2 errors. Watching for file changes.`), or anything else (its
 * diagnostics, to show as they are).
 */
export function parseTscLine(line: string): TscLine {
  const emitted = /^TSFILE: (.+)$/.exec(line.trim());
  if (emitted) return { kind: 'emitted', path: emitted[1]! };
  const done = /Found (\d+) errors?\. Watching for file changes\./.exec(line);
  if (done) return { kind: 'done', errors: Number(done[1]) };
  return { kind: 'other' };
}
