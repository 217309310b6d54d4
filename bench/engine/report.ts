/** The engine benchmark's arithmetic and printing, apart from its processes so that a test can check them. */

export function median(values: number[]): number {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The list started at its `by`-th item and wrapped around: round `by`'s order, so no target always goes first. */
export function rotate<T>(items: T[], by: number): T[] {
  const start = ((by % items.length) + items.length) % items.length;
  return [...items.slice(start), ...items.slice(0, start)];
}

/**
 * Where two JSON values first differ, as a path (`data.users.3.reviews`), key order included
 * (a GraphQL answer's keys follow the selection); undefined when they are the same JSON.
 */
export function firstDifference(a: unknown, b: unknown, path = ''): string | undefined {
  const here = path || '(the whole answer)';
  if (typeof a !== typeof b || Array.isArray(a) !== Array.isArray(b) || (a === null) !== (b === null)) return here;
  if (typeof a !== 'object' || a === null) return a === b ? undefined : here;
  const keysA = Object.keys(a);
  const keysB = Object.keys(b as object);
  for (let i = 0; i < Math.max(keysA.length, keysB.length); i++) {
    const key = keysA[i] ?? keysB[i]!;
    const at = path ? `${path}.${key}` : key;
    if (keysA[i] !== keysB[i]) return `${at} (keys differ: ${keysA[i] ?? 'none'} / ${keysB[i] ?? 'none'})`;
    const below = firstDifference((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key], at);
    if (below) return below;
  }
  return undefined;
}

/** One target's figures over the rounds. */
export interface Measured {
  name: string;
  perSecond: number[];
  p50: number[];
  p99: number[];
  /** MiB, the most seen in each round. */
  rss: number[];
  failures: number;
}

export interface Summary {
  name: string;
  perSecond: number;
  p50: number;
  p99: number;
  rss: number;
  failures: number;
}

/** Medians over the rounds (the most for RSS). */
export function summarize({ name, perSecond, p50, p99, rss, failures }: Measured): Summary {
  return { name, perSecond: median(perSecond), p50: median(p50), p99: median(p99), rss: rss.length ? Math.max(...rss) : NaN, failures };
}

const fixed = (value: number, digits: number) => (Number.isFinite(value) ? value.toFixed(digits) : '–');

/** The markdown summary: a row per target that ran, and a line per one that did not. */
export function summaryTable(rows: Summary[], notMeasured: { name: string; reason: string }[]): string {
  const lines = [
    '| target | median req/s | p50 ms | p99 ms | max RSS MiB | failures |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map(
      (r) => `| ${r.name} | ${fixed(r.perSecond, 1)} | ${fixed(r.p50, 1)} | ${fixed(r.p99, 1)} | ${fixed(r.rss, 0)} | ${r.failures} |`,
    ),
    ...notMeasured.map(({ name, reason }) => `| ${name} | not measured: ${reason} | | | | |`),
  ];
  return lines.join('\n');
}

/** `a / b` as `2.34×`, or why it cannot be said. */
export const ratio = (a: Summary | undefined, b: Summary | undefined) =>
  a && b && b.perSecond > 0 ? `${(a.perSecond / b.perSecond).toFixed(2)}×` : 'n/a (one side not measured)';

export const RSS_TARGET_MIB = 250;

/**
 * The targets, each a `TARGET MET` or `TARGET MISSED` line: Tessera's executor at 3×
 * stock's req/s with a lower p99 and under 250 MiB of RSS; cache hits at half the bare server's
 * req/s. A target whose sides were not both measured is missed.
 */
export function targetLines({ stock, tessera, hits, bare }: Partial<Record<'stock' | 'tessera' | 'hits' | 'bare', Summary>>): string[] {
  const line = (met: boolean, text: string) => `TARGET ${met ? 'MET' : 'MISSED'}: ${text}`;
  const usable = (s: Summary | undefined): s is Summary => !!s && s.failures === 0 && s.perSecond > 0;
  return [
    usable(stock) && usable(tessera)
      ? line(
          tessera.perSecond >= 3 * stock.perSecond && tessera.p99 < stock.p99,
          `Tessera's executor ≥ 3× stock @apollo/gateway req/s with lower p99 (${ratio(tessera, stock)}; p99 ${fixed(tessera.p99, 1)} vs ${fixed(stock.p99, 1)} ms)`,
        )
      : line(false, `Tessera's executor ≥ 3× stock @apollo/gateway req/s with lower p99 (not measured, or with failures)`),
    usable(tessera)
      ? line(tessera.rss < RSS_TARGET_MIB, `Tessera's gateway RSS < ${RSS_TARGET_MIB} MiB (${fixed(tessera.rss, 0)} MiB at most)`)
      : line(false, `Tessera's gateway RSS < ${RSS_TARGET_MIB} MiB (not measured, or with failures)`),
    usable(hits) && usable(bare)
      ? line(
          hits.perSecond >= 0.5 * bare.perSecond,
          `cache hits ≥ 50% of bare node:http (${((100 * hits.perSecond) / bare.perSecond).toFixed(0)}%)`,
        )
      : line(false, `cache hits ≥ 50% of bare node:http (not measured, or with failures)`),
  ];
}
