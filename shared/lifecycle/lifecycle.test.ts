import { EventEmitter } from 'node:events';
import type { RequestListener, Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import express from 'express';
import { closeServer, healthRoutes, listen } from '../http/http.js';
import { createLifecycle, signalExitCode, type Lifecycle } from './lifecycle.js';
import { createLogger } from '../observability/logger.js';

const logger = createLogger('test', { logLevel: 'silent', env: 'test' });

/** A promise with its resolver outside: a request handler waits on it until the test says go. */
function latch() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

interface Harness {
  lifecycle: Lifecycle;
  signals: EventEmitter;
  exits: number[];
  server: Server;
  origin: string;
  /** The slow request has reached the handler. */
  slowArrived: Promise<void>;
  releaseSlow(): void;
  /** The paths the handler ran, in order. */
  ran: string[];
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => closeServer(server, 100)));
});

/** A server behind a lifecycle: `/slow` waits for the test; anything else answers at once. */
async function harness(options: { delayMs?: number } = {}): Promise<Harness> {
  const signals = new EventEmitter();
  const exits: number[] = [];
  const lifecycle = createLifecycle({ logger, graceMs: 10_000, delayMs: options.delayMs ?? 0, signals, exit: (code) => exits.push(code) });
  const arrived = latch();
  const release = latch();
  const ran: string[] = [];
  const handler: RequestListener = (req, res) => {
    ran.push(req.url!);
    if (req.url === '/slow') {
      arrived.open();
      void release.opened.then(() => res.end('slow done'));
    } else {
      res.end(req.url === '/ready' ? 'ready' : 'fast');
    }
  };
  const { server, url } = await listen(lifecycle.guard(handler), '127.0.0.1', 0);
  servers.push(server);
  lifecycle.serving(server);
  return { lifecycle, signals, exits, server, origin: url, slowArrived: arrived.opened, releaseSlow: release.open, ran };
}

describe('the process lifecycle', () => {
  it('maps signals to the exit codes a shell reports', () => {
    expect(signalExitCode('SIGINT')).toBe(130);
    expect(signalExitCode('SIGTERM')).toBe(143);
  });

  it('exits at once on a second signal, with 128 + its number, without waiting for requests in flight', async () => {
    const h = await harness();
    const slow = fetch(`${h.origin}/slow`).then((r) => r.text());
    await h.slowArrived;
    h.signals.emit('SIGTERM', 'SIGTERM');
    expect(h.lifecycle.state.phase).toBe('draining');
    expect(h.exits).toEqual([]);
    h.signals.emit('SIGINT', 'SIGINT');
    expect(h.exits).toEqual([130]);
    expect(h.lifecycle.state).toEqual({ phase: 'stopped', exitCode: 130 });
    // A third signal changes nothing.
    h.signals.emit('SIGTERM', 'SIGTERM');
    expect(h.exits).toEqual([130]);
    h.releaseSlow();
    await slow;
  });

  it('exits at once on a signal before it serves: there is nothing to drain', async () => {
    const signals = new EventEmitter();
    const exits: number[] = [];
    const lifecycle = createLifecycle({ logger, graceMs: 10_000, delayMs: 0, signals, exit: (code) => exits.push(code) });
    signals.emit('SIGTERM', 'SIGTERM');
    expect(exits).toEqual([143]);
    expect(signals.listenerCount('SIGTERM')).toBe(0);
    expect(() => lifecycle.serving({} as Server)).toThrow(/stopped/);
  });

  it('during the shutdown delay, answers /ready with 503 draining but still serves requests', async () => {
    const h = await harness({ delayMs: 60_000 });
    h.signals.emit('SIGTERM', 'SIGTERM');
    const ready = await fetch(`${h.origin}/ready`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ status: 'draining', ready: false });
    const request = await fetch(`${h.origin}/graphql`);
    expect(request.status).toBe(200);
    expect(await request.text()).toBe('fast');
    // The second signal also ends the delay (no timer is left behind).
    h.signals.emit('SIGTERM', 'SIGTERM');
    expect(h.exits).toEqual([143]);
  });

  it('during the shutdown delay, every answer closes its connection, and a request pipelined behind one does not run', async () => {
    const h = await harness({ delayMs: 60_000 });
    h.signals.emit('SIGTERM', 'SIGTERM');
    const socket = connect((h.server.address() as { port: number }).port, '127.0.0.1');
    const received: Buffer[] = [];
    socket.on('data', (chunk) => received.push(chunk));
    const closed = new Promise((resolve) => socket.on('close', resolve));
    // Two requests in one write: the second arrives while the first is being answered.
    socket.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\nPOST /mutation HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n');
    await h.slowArrived;
    h.releaseSlow();
    await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 5_000))]);
    socket.destroy();
    const text = Buffer.concat(received).toString();
    // One answer, which closed the connection; the request behind it was never run (Node writes
    // nothing after a closing answer), so the client knows to send it again elsewhere.
    expect(text.match(/HTTP\/1\.1 /g)).toHaveLength(1);
    expect(text).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(text).toMatch(/\r\nconnection: close\r\n/i);
    expect(text.endsWith('slow done')).toBe(true);
    expect(h.ran).toEqual(['/slow']);
    h.signals.emit('SIGTERM', 'SIGTERM');
  });

  it('runs every shutdown step in order after the server closes; a step that fails makes the exit code 1', async () => {
    const h = await harness();
    const ran: string[] = [];
    h.lifecycle.onShutdown('apollo', async () => void ran.push(`apollo (listening: ${h.server.listening})`));
    h.lifecycle.onShutdown('pool', async () => {
      ran.push('pool');
      throw new Error('pool refused to close');
    });
    h.lifecycle.onShutdown('tracing', async () => void ran.push('tracing'));
    const exitCode = await h.lifecycle.shutdown('SIGTERM');
    expect(ran).toEqual(['apollo (listening: false)', 'pool', 'tracing']);
    expect(exitCode).toBe(1);
    expect(h.exits).toEqual([1]);
  });

  it('ends long-lived connections by its drain steps before waiting for the connections, so they do not hold the drain', async () => {
    const h = await harness();
    const ran: string[] = [];
    // A connection no answer will close (a WebSocket's, say): without the drain step it would hold the drain for the 10 s grace.
    const held = new Promise<Socket>((resolve) => h.server.once('connection', resolve));
    const client = connect(Number(new URL(h.origin).port), '127.0.0.1');
    client.on('error', () => undefined);
    const socket = await held;
    h.lifecycle.onDrain('websockets', async () => {
      ran.push('websockets');
      socket.destroy();
    });
    h.lifecycle.onShutdown('apollo', async () => void ran.push('apollo'));
    const started = Date.now();
    expect(await h.lifecycle.shutdown('SIGTERM')).toBe(0);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(ran).toEqual(['websockets', 'apollo']);
    client.destroy();
  });

  it('gives up on a shutdown step that hangs', async () => {
    const signals = new EventEmitter();
    const exits: number[] = [];
    const lifecycle = createLifecycle({ logger, graceMs: 1_000, delayMs: 0, signals, exit: (code) => exits.push(code), stepTimeoutMs: 50 });
    const { server } = await listen(((_req, res) => res.end()) as RequestListener, '127.0.0.1', 0);
    lifecycle.serving(server);
    lifecycle.onShutdown('stuck', () => new Promise(() => undefined));
    expect(await lifecycle.shutdown('SIGTERM')).toBe(1);
    expect(exits).toEqual([1]);
  });
});

describe('readiness', () => {
  it('answers 503 with the reason when the check hangs, rather than hanging too', async () => {
    const app = express();
    healthRoutes(app, () => new Promise(() => undefined), 50);
    const { server, url } = await listen(app, '127.0.0.1', 0);
    servers.push(server);
    const response = await fetch(`${url}/ready`);
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ status: 'not ready', ready: false, error: 'the readiness check did not answer within 50 ms' });
    expect((await fetch(`${url}/health`)).status).toBe(200);
  });
});
