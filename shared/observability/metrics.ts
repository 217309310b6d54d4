import express, { type Express } from 'express';
import {
  collectDefaultMetrics,
  Counter,
  type CounterConfiguration,
  Gauge,
  type GaugeConfiguration,
  Histogram,
  type HistogramConfiguration,
  Registry,
} from 'prom-client';
import { PRODUCTION_METRICS_PORT, type RuntimeEnvironment } from '../config/config.js';
import { closeServer, listen } from '../http/http.js';
import { ErrorCode, sendError, TesseraError } from '../errors/errors.js';

/** Where a process serves its Prometheus metrics (see the README's Metrics section). */
export interface MetricsConfig {
  /** `METRICS=false`: no `/metrics` anywhere. */
  enabled: boolean;
  /** Set: `/metrics` only on a listener of its own on this port (0 picks a free one), never on the public one. */
  port: number | undefined;
  /** Interface of that listener. */
  host: string;
}

/**
 * One registry per process (or per gateway/subgraph a test builds), passed down explicitly:
 * never prom-client's global default, so several can live in one process. It starts with
 * Node's process metrics: CPU, memory and heap, event-loop lag, GC durations, handles.
 */
export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

/**
 * Makers of counters, histograms and gauges registered on `registry` and on no other: each
 * takes prom-client's configuration less `registers`.
 */
export function metricsOn(registry: Registry) {
  const registers = [registry];
  return {
    counter: <Label extends string = never>(config: Omit<CounterConfiguration<Label>, 'registers'>) =>
      new Counter<Label>({ ...config, registers }),
    histogram: <Label extends string = never>(config: Omit<HistogramConfiguration<Label>, 'registers'>) =>
      new Histogram<Label>({ ...config, registers }),
    gauge: <Label extends string = never>(config: Omit<GaugeConfiguration<Label>, 'registers'>) =>
      new Gauge<Label>({ ...config, registers }),
  };
}

/**
 * Bounds a label whose values come from clients (operation names): the first `maxDistinct`
 * well-formed names are kept, anything after that is `other`, a name that is not a GraphQL
 * name (or too long) is `invalid`, and no name is `anonymous`. A client sending a fresh
 * name with every request cannot grow the series without end.
 */
export function boundedNames(maxDistinct = 200): (name: string | null | undefined) => string {
  const seen = new Set<string>();
  return (name) => {
    if (!name) return 'anonymous';
    if (!/^[_A-Za-z][_0-9A-Za-z]{0,99}$/.test(name)) return 'invalid';
    if (seen.has(name)) return name;
    if (seen.size >= maxDistinct) return 'other';
    seen.add(name);
    return name;
  };
}

function metricsHandler(registry: Registry): express.RequestHandler {
  return async (_req, res) => {
    res.setHeader('content-type', registry.contentType);
    res.setHeader('cache-control', 'no-store');
    res.send(await registry.metrics());
  };
}

/**
 * `GET /metrics` on the public app when metrics are on and have no port of their own.
 * Otherwise the public app answers 404 there, so the path never falls through to GraphQL.
 */
export function metricsRoutes(app: Express, registry: Registry, config: MetricsConfig): void {
  if (config.enabled && config.port === undefined) {
    app.get('/metrics', metricsHandler(registry));
    return;
  }
  app.all('/metrics', (_req, res) => {
    sendError(res, new TesseraError('Metrics are not served on this listener.', ErrorCode.NOT_FOUND));
  });
}

/**
 * Production never serves `/metrics` on the public port (it tells whoever asks about every
 * operation name, error and subgraph); the configuration gives it a port of its own there.
 * A configuration built by hand that lacks one is refused before anything is started.
 */
export function assertMetricsOffPublicPort(env: RuntimeEnvironment, config: MetricsConfig): void {
  if (env === 'production' && config.enabled && config.port === undefined) {
    throw new Error(
      `In production /metrics is not served on the public port: give it a port of its own (METRICS_PORT, ${PRODUCTION_METRICS_PORT} by default), or turn metrics off.`,
    );
  }
}

interface MetricsListener {
  /** Where Prometheus scrapes: `http://host:port/metrics`. */
  url: string;
  stop(): Promise<void>;
}

/** The separate metrics listener, when `config.port` is set (and metrics are on); else nothing. */
export async function listenMetrics(registry: Registry, config: MetricsConfig): Promise<MetricsListener | undefined> {
  if (!config.enabled || config.port === undefined) return undefined;
  const app = express();
  app.disable('x-powered-by');
  app.get('/metrics', metricsHandler(registry));
  const { server, url } = await listen(app, config.host, config.port).catch((error: NodeJS.ErrnoException) => {
    // Every process defaults to the same port in production: on a shared host each needs its own.
    if (error.code !== 'EADDRINUSE') throw error;
    throw new Error(
      `The metrics port ${config.port} is in use; processes sharing a host need one each (GATEWAY_METRICS_PORT, <NAME>_METRICS_PORT), or METRICS=false.`,
      { cause: error },
    );
  });
  return { url: `${url}/metrics`, stop: () => closeServer(server) };
}
