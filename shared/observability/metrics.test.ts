import { afterEach, describe, expect, it } from '@jest/globals';
import express from 'express';
import { Counter } from 'prom-client';
import { loadGatewayConfig } from '../config/config.js';
import { loadSubgraphConfig } from '../config/subgraph-config.js';
import { closeServer, listen } from '../http/http.js';
import { boundedNames, createMetricsRegistry, listenMetrics, metricsRoutes, type MetricsConfig } from './metrics.js';

describe('metrics configuration', () => {
  it('serves /metrics on the public port outside production unless told otherwise', () => {
    expect(loadGatewayConfig({}).metrics).toEqual({ enabled: true, port: undefined, host: '127.0.0.1' });
    expect(loadSubgraphConfig('catalog', 4002, { METRICS: 'false' }).metrics.enabled).toBe(false);
  });

  it('moves metrics to their own port, one per process when they share a host', () => {
    const env = { HOST: '0.0.0.0', METRICS_PORT: '9464', CATALOG_METRICS_PORT: '9102', METRICS_HOST: '10.0.0.5' };
    expect(loadGatewayConfig(env).metrics).toEqual({ enabled: true, port: 9464, host: '10.0.0.5' });
    expect(loadGatewayConfig({ ...env, GATEWAY_METRICS_PORT: '9100' }).metrics.port).toBe(9100);
    expect(loadSubgraphConfig('catalog', 4002, env).metrics).toEqual({ enabled: true, port: 9102, host: '10.0.0.5' });
    expect(loadSubgraphConfig('catalog', 4002, { HOST: '0.0.0.0' }).metrics.host).toBe('0.0.0.0');
    expect(() => loadSubgraphConfig('catalog', 4002, { METRICS_PORT: 'nine' })).toThrow(/METRICS_PORT/);
  });
});

describe('bounded operation names', () => {
  it('keeps the first names, then says other; malformed and missing names get a label of their own', () => {
    const label = boundedNames(2);
    expect([label('A'), label('B'), label('C'), label('A')]).toEqual(['A', 'B', 'other', 'A']);
    expect([label(undefined), label(null), label('drop table'), label('x'.repeat(101))]).toEqual([
      'anonymous',
      'anonymous',
      'invalid',
      'invalid',
    ]);
  });
});

describe('where /metrics is served', () => {
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
  });

  async function serve(config: MetricsConfig) {
    const registry = createMetricsRegistry();
    new Counter({ name: 'tessera_test_total', help: 'test', registers: [registry] }).inc(3);
    const app = express();
    metricsRoutes(app, registry, config);
    const publicListener = await listen(app, '127.0.0.1', 0);
    stops.push(() => closeServer(publicListener.server));
    const own = await listenMetrics(registry, config);
    if (own) stops.push(own.stop);
    return { publicUrl: `${publicListener.url}/metrics`, ownUrl: own?.url };
  }

  it('on the public listener by default, as Prometheus text with process metrics', async () => {
    const { publicUrl, ownUrl } = await serve({ enabled: true, port: undefined, host: '127.0.0.1' });
    expect(ownUrl).toBeUndefined();
    const response = await fetch(publicUrl);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    expect(text).toMatch(/^tessera_test_total 3$/m);
    expect(text).toMatch(/^nodejs_heap_size_used_bytes \d+/m);
  });

  it('only on its own listener when given a port', async () => {
    const { publicUrl, ownUrl } = await serve({ enabled: true, port: 0, host: '127.0.0.1' });
    expect((await fetch(publicUrl)).status).toBe(404);
    expect(await (await fetch(ownUrl!)).text()).toMatch(/^tessera_test_total 3$/m);
  });

  it('stops with a message naming the variables when its port is taken (every production process defaults to 9464)', async () => {
    const taken = await listen(express(), '127.0.0.1', 0);
    stops.push(() => closeServer(taken.server));
    const port = Number(new URL(taken.url).port);
    await expect(listenMetrics(createMetricsRegistry(), { enabled: true, port, host: '127.0.0.1' })).rejects.toThrow(
      new RegExp(`metrics port ${port} is in use; .*GATEWAY_METRICS_PORT, <NAME>_METRICS_PORT`),
    );
  });

  it('nowhere when off', async () => {
    const { publicUrl, ownUrl } = await serve({ enabled: false, port: 0, host: '127.0.0.1' });
    expect(ownUrl).toBeUndefined();
    expect((await fetch(publicUrl)).status).toBe(404);
  });
});
