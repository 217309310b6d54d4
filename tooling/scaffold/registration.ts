import { isMap, isPair, isScalar, isSeq, parse, parseDocument, type Pair, type YAMLMap } from 'yaml';
import { envPrefix } from '../../shared/config/config.js';
import { ScaffoldError, type SubgraphNames } from './names.js';

/*
 * The edits that register a new subgraph outside its folders. Each takes a file's text and
 * returns the new text, changing nothing else in it (comments, anchors and order stay), and
 * throws a ScaffoldError naming the file when it is not in the shape expected, so the
 * scaffold can stop before writing anything.
 */

/** Longest line the registry's list may grow to before it is written one subgraph a line. */
const MAX_LINE = 120;

/** `subgraphs/index.ts`: imports the definition and appends it to the list. */
export function registerInIndex(source: string, n: SubgraphNames): string {
  const problem = (what: string) =>
    new ScaffoldError(
      `subgraphs/index.ts: ${what}. Register the subgraph by hand: import { ${n.variable} } from './${n.name}/index.js' and add it to the list.`,
      1,
    );
  const imports = [...source.matchAll(/^import \{ \w+ \} from '\.\/[a-z0-9-]+\/index\.js';\n/gm)];
  const lastImport = imports.at(-1);
  if (!lastImport) throw problem('found no subgraph import');
  const withImport = insertAt(source, lastImport.index + lastImport[0].length, `import { ${n.variable} } from './${n.name}/index.js';\n`);

  const list = /^(export const subgraphs\b[^=]*=\s*\[)([^\]]*)(\])/m.exec(withImport);
  if (!list) throw problem('found no `export const subgraphs = [...]` list');
  const [whole, open, body, close] = list as unknown as [string, string, string, string];
  const entries = [...body.split(','), n.variable].map((entry) => entry.trim()).filter(Boolean);
  const lineEnd = withImport.indexOf('\n', list.index);
  const restOfLine = withImport.slice(list.index + whole.length, lineEnd === -1 ? undefined : lineEnd);
  const oneLine = `${open}${entries.join(', ')}${close}`;
  const multiLine = body.includes('\n') || (oneLine + restOfLine).length > MAX_LINE;
  const indent = /\n([ \t]+)\S/.exec(body)?.[1] ?? '  ';
  const rendered = multiLine ? `${open}\n${entries.map((entry) => `${indent}${entry},\n`).join('')}${close}` : oneLine;
  return withImport.slice(0, list.index) + rendered + withImport.slice(list.index + whole.length);
}

/**
 * `docker-compose.yml`: a service for the subgraph (as the others: the shared `x-subgraph`
 * settings, its port, a readiness check), and the gateway's `<NAME>_URL` and `depends_on`.
 * Positions come from the parsed document, the edits are textual, and the result is parsed
 * again to check that it says what was meant.
 */
export function registerInDockerCompose(source: string, n: SubgraphNames, registered: string[]): string {
  const problem = (what: string) =>
    new ScaffoldError(`docker-compose.yml: ${what}. Add the ${n.name} service (and the gateway's ${n.envPrefix}_URL) by hand.`, 1);
  const doc = parseDocument(source);
  if (doc.errors.length) throw problem(`does not parse (${doc.errors[0]!.message})`);
  const services = doc.get('services', true);
  const gateway = isMap(services) ? services.get('gateway', true) : undefined;
  const environment = isMap(gateway) ? gateway.get('environment', true) : undefined;
  const dependsOn = isMap(gateway) ? gateway.get('depends_on', true) : undefined;
  if (!isMap(services) || !isMap(gateway) || !isMap(environment) || !isMap(dependsOn)) {
    throw problem('expected services with a gateway that has an environment and depends_on map');
  }
  const isSubgraphKey = (key: string) => registered.includes(key);
  const lastService = lastPair(services, isSubgraphKey);
  const lastUrl = lastPair(environment, (key) => registered.some((name) => key === `${envPrefix(name)}_URL`));
  const lastDependency = lastPair(dependsOn, isSubgraphKey);
  if (!lastService || !lastUrl || !lastDependency) throw problem('found no registered subgraph service to add the new one after');

  const service = [
    `${n.name}:`,
    `  <<: *subgraph`,
    `  command: ["node", "dist/bin/subgraph.js", "${n.name}"]`,
    `  environment:`,
    `    <<: *subgraph-env`,
    `    ${n.envPrefix}_PORT: "${n.port}"`,
    `  healthcheck:`,
    `    <<: *healthcheck-timing`,
    `    test: ["CMD", "node", "-e", "fetch('http://127.0.0.1:${n.port}/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]`,
  ];
  const edits = [
    { after: lastService, lines: ['', ...service] },
    { after: lastUrl, lines: [`${n.envPrefix}_URL: http://${n.name}:${n.port}/graphql`] },
    { after: lastDependency, lines: [`${n.name}:`, `  condition: service_healthy`] },
  ].map(({ after, lines }) => {
    const indent = ' '.repeat(columnOf(source, rangeOf(after.key)[0]));
    return { position: endOfLine(source, rangeOf(after.value)[2]), text: lines.map((line) => `\n${line && indent + line}`).join('') };
  });
  // From the end backwards, so the positions of the earlier ones stay valid.
  const text = edits.sort((a, b) => b.position - a.position).reduce((result, edit) => insertAt(result, edit.position, edit.text), source);

  let result: {
    services?: Record<string, { build?: unknown; environment?: Record<string, unknown>; depends_on?: Record<string, unknown> }>;
  };
  try {
    result = parse(text, { merge: true }) as typeof result;
  } catch (error) {
    throw problem(`the edited file does not parse (${(error as Error).message}); are the x-subgraph anchors still there?`);
  }
  const added = result.services?.[n.name];
  const gatewayAfter = result.services?.gateway;
  if (
    !added?.build ||
    added.environment?.[`${n.envPrefix}_PORT`] !== String(n.port) ||
    !gatewayAfter?.environment?.[`${n.envPrefix}_URL`] ||
    !gatewayAfter.depends_on?.[n.name]
  ) {
    throw problem('the edit did not come out as intended');
  }
  return text;
}

/**
 * `ops/prometheus/prometheus.yml` (the metrics stack of docker-compose.yml, where present): a
 * scrape job for the subgraph, a copy of the last registered subgraph's with the name changed,
 * so it scrapes the same metrics port.
 */
export function registerInPrometheus(source: string, n: SubgraphNames, registered: string[]): string {
  const problem = (what: string) => new ScaffoldError(`ops/prometheus/prometheus.yml: ${what}. Add a scrape job for ${n.name} by hand.`, 1);
  const doc = parseDocument(source);
  const jobs = doc.get('scrape_configs', true);
  if (doc.errors.length || !isSeq(jobs)) throw problem('expected a scrape_configs list');
  const last = jobs.items.filter((job): job is YAMLMap => isMap(job) && registered.includes(String(job.get('job_name')))).at(-1);
  if (!last) throw problem('found no scrape job of a registered subgraph to copy');
  const previous = String(last.get('job_name'));
  const [start, , end] = rangeOf(last);
  const lineEnd = endOfLine(source, end);
  const job = source
    .slice(start, lineEnd)
    .replace(/^job_name: .*$/m, `job_name: ${n.name}`)
    .replace(new RegExp(`(["'\\s])${previous}:(\\d+)`, 'g'), `$1${n.name}:$2`);
  const dash = source.slice(source.lastIndexOf('\n', start) + 1, start);
  const text = insertAt(source, lineEnd, `\n${dash}${job}`);

  const targets =
    (parse(text) as { scrape_configs?: { job_name: string; static_configs?: { targets?: string[] }[] }[] }).scrape_configs ?? [];
  const targetsOf = (name: string) => targets.find((j) => j.job_name === name)?.static_configs?.flatMap((c) => c.targets ?? []) ?? [];
  const expected = targetsOf(previous).map((target) => target.replace(`${previous}:`, `${n.name}:`));
  if (!expected.length || JSON.stringify(targetsOf(n.name)) !== JSON.stringify(expected))
    throw problem('the edit did not come out as intended');
  return text;
}

/** `README.md`: a row in the table of subgraphs, and the default port beside the others'. */
export function registerInReadme(source: string, n: SubgraphNames, { store = true }: { store?: boolean } = {}): string {
  const header = /^\| subgraph \| owns \| contributes \|\n(\|.*\n)*/m.exec(source);
  if (!header)
    throw new ScaffoldError('README.md: found no table of subgraphs (| subgraph | owns | contributes |). Add the row by hand.', 1);
  const row = store
    ? `| \`${n.name}\` | \`${n.entity}\` | \`Query.${n.entityVariable}(id)\`, \`Query.${n.entityPlural}(first, after)\`, ` +
      `\`Mutation.create${n.entity}\` |\n`
    : `| \`${n.name}\` | nothing (no store) | \`Query.${n.variable}Status\` |\n`;
  const withRow = insertAt(source, header.index + header[0].length, row);
  // The configuration table lists each subgraph's default port (`REVIEWS_PORT=4004`); add this one's after the last.
  return withRow.replace(/^(\| `<NAME>_PORT` \|.*`[A-Z0-9_]+_PORT=\d+`)/m, `$1, \`${n.envPrefix}_PORT=${n.port}\``);
}

function insertAt(text: string, position: number, insertion: string): string {
  return text.slice(0, position) + insertion + text.slice(position);
}

/** The last pair of a map whose key passes `accept`. */
function lastPair(map: YAMLMap, accept: (key: string) => boolean): Pair | undefined {
  return map.items.filter((item): item is Pair => isPair(item) && isScalar(item.key) && accept(String(item.key.value))).at(-1);
}

function rangeOf(node: unknown): [number, number, number] {
  return (node as { range: [number, number, number] }).range;
}

function columnOf(text: string, position: number): number {
  return position - (text.lastIndexOf('\n', position - 1) + 1);
}

/** End of the line holding the last non-blank character before `position`. */
function endOfLine(text: string, position: number): number {
  let last = position - 1;
  while (last > 0 && /\s/.test(text[last]!)) last--;
  const end = text.indexOf('\n', last);
  return end === -1 ? text.length : end;
}
