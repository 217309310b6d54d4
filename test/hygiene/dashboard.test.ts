import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import { repoRoot } from '../../shared/config/paths.js';
import { subgraphs } from '../../subgraphs/index.js';
import { scrape } from '../support/metrics.js';
import { supergraphForSuite } from '../support/supergraph.js';

const DASHBOARD = 'ops/grafana/dashboards/tessera.json';

/** PromQL words that look like metric names: aggregations, modifiers, set operators. */
const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'offset',
  'bool',
  'and',
  'or',
  'unless',
  'inf',
  'nan',
]);

/** The metric names a PromQL expression selects (functions, labels, strings, ranges and Grafana variables left out). */
function metricNames(expr: string): string[] {
  const selectors = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\$\{[^}]*\}|\$\w+/g, ' ');
  const names = [...selectors.matchAll(/(?<![\w.:])([a-zA-Z_:][a-zA-Z0-9_:]*)(?![\w:]|\s*\()/g)].map((m) => m[1]!);
  return [...new Set(names.filter((name) => !KEYWORDS.has(name.toLowerCase())))];
}

/**
 * Whether a name is exported, given the families the processes declare (`# TYPE name type`):
 * the family itself, or a histogram's `_bucket`, `_sum` or `_count` series.
 */
function isExported(name: string, families: Map<string, string>): boolean {
  if (families.has(name)) return true;
  const series = /^(.*)_(bucket|sum|count)$/.exec(name);
  if (!series) return false;
  const type = families.get(series[1]!);
  return type === 'histogram' || (type === 'summary' && series[2] !== 'bucket');
}

/** Every `expr` in the dashboard, panels inside collapsed rows included. */
function exprsOf(dashboard: { panels?: unknown[] }): string[] {
  const found: string[] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(visit);
    else if (node && typeof node === 'object') {
      for (const [key, value] of Object.entries(node)) {
        if (key === 'expr' && typeof value === 'string') found.push(value);
        else visit(value);
      }
    }
  };
  visit(dashboard.panels);
  return found;
}

describe('metric names in PromQL', () => {
  it('finds the selected metrics, not functions, labels, strings or ranges', () => {
    expect(
      metricNames('histogram_quantile(0.95, sum by (le, job) (rate(tessera_x_seconds_bucket{job="catalog", le!="1"}[$__rate_interval])))'),
    ).toEqual(['tessera_x_seconds_bucket']);
    expect(metricNames('topk(10, sum by (operation) (rate(a_total[5m] offset 1h))) / on (operation) group_left b_count and c')).toEqual([
      'a_total',
      'b_count',
      'c',
    ]);
    expect(metricNames('sum(rate(a_total{result="hit"}[1m])) / sum without (job) (a_total) > 1e3')).toEqual(['a_total']);
  });

  it('takes only declared families, and histograms for their series', () => {
    const families = new Map([
      ['a_total', 'counter'],
      ['h_seconds', 'histogram'],
      ['s', 'summary'],
    ]);
    expect(['a_total', 'h_seconds_bucket', 'h_seconds_sum', 'h_seconds_count', 's_sum'].every((name) => isExported(name, families))).toBe(
      true,
    );
    expect(['a', 'a_total_count', 's_bucket', 'made_up_metric_bucket'].some((name) => isExported(name, families))).toBe(false);
  });
});

describe('the Grafana dashboard and Prometheus', () => {
  const supergraph = supergraphForSuite();
  const families = new Map<string, string>();

  beforeAll(async () => {
    const staff = await supergraph.loginAs('grace');
    await supergraph.query('query Shop { topProducts(first: 3) { name inStock averageRating } }', {}, staff);
    for (const url of [supergraph.metricsUrl!, ...Object.values(supergraph.subgraphs).map((s) => s.metricsUrl!)]) {
      for (const [name, type] of (await scrape(url)).families) families.set(name, type);
    }
  }, 120_000);

  it('queries only metrics that the gateway or a subgraph exports', async () => {
    const exprs = exprsOf(JSON.parse(await readFile(join(repoRoot, DASHBOARD), 'utf8')) as { panels?: unknown[] });
    expect(exprs.length).toBeGreaterThan(20);
    const names = [...new Set(exprs.flatMap(metricNames))];
    expect(names.filter((name) => !isExported(name, families))).toEqual([]);
    // Every family Tessera defines is on the dashboard.
    const shown = new Set(names.map((name) => name.replace(/_(bucket|sum|count)$/, '')));
    expect([...families.keys()].filter((name) => name.startsWith('tessera_') && !shown.has(name))).toEqual([]);
  });

  it('scrapes the gateway and every registered subgraph on the metrics port docker-compose sets', async () => {
    const prometheus = parse(await readFile(join(repoRoot, 'ops/prometheus/prometheus.yml'), 'utf8')) as {
      scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
    };
    const compose = parse(await readFile(join(repoRoot, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
      services: Record<string, { environment?: Record<string, string> }>;
    };
    const processes = ['gateway', ...subgraphs.map((s) => s.name)];
    expect(prometheus.scrape_configs.map((job) => job.job_name).sort()).toEqual([...processes].sort());
    for (const job of prometheus.scrape_configs) {
      expect(job.static_configs.flatMap((c) => c.targets)).toEqual([
        `${job.job_name}:${compose.services[job.job_name]!.environment!.METRICS_PORT}`,
      ]);
    }
  });
});
