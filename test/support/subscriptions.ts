import { SignJWT } from 'jose';
import { seedId } from '../../shared/store/seed.js';
import { createClient as createSseClient } from 'graphql-sse';
import { createClient, type Client, type FormattedExecutionResult } from 'graphql-ws';
import type { Identity } from '../../shared/identity/identity.js';
import { signedRequestHeaders } from '../../shared/identity/signed-requests.js';
import type { SubgraphPubSub } from '../../shared/subgraph/pubsub.js';
import { TEST_JWT_SECRET, TEST_SIGNING_SECRET } from './config.js';
import { scrape } from './metrics.js';

/** How a subscription ended: completed, or an error (a close event, or the errors of a refused operation). */
export type Ending = { completed: true } | { error: unknown };

/** One subscription as a client sees it: what it received, and how it ended. */
export interface TestSubscription {
  /** The next event, or throws after `timeoutMs` (or when the subscription ends first). */
  next(timeoutMs?: number): Promise<FormattedExecutionResult<Record<string, any>, unknown>>;
  /** How it ended, or throws after `timeoutMs`. */
  ended(timeoutMs?: number): Promise<Ending>;
  /** Events received that `next` has not taken yet. */
  unread(): number;
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms))),
  ]).finally(() => clearTimeout(timer));
}

type Event = FormattedExecutionResult<Record<string, any>, unknown>;

/** What a transport's client reports to (graphql-ws's and graphql-sse's sinks have this shape). */
interface Sink {
  next(event: Event): void;
  error(error: unknown): void;
  complete(): void;
}

/** A sink that keeps everything it hears, and the subscription reading it. */
function collecting(): { sink: Sink; subscription: TestSubscription } {
  const events: Event[] = [];
  let wake: (() => void) | undefined;
  let ending: Ending | undefined;
  const notify = () => wake?.();
  const sink: Sink = {
    next: (event) => void (events.push(event), notify()),
    error: (error) => void ((ending ??= { error }), notify()),
    complete: () => void ((ending ??= { completed: true }), notify()),
  };
  const waitFor = async <T>(ready: () => T | undefined, timeoutMs: number, what: string): Promise<T> =>
    within(
      (async () => {
        for (;;) {
          const value = ready();
          if (value !== undefined) return value;
          if (ending && what === 'event') throw new Error(`the subscription ended before an event: ${JSON.stringify(ending)}`);
          await new Promise<void>((resolve) => (wake = resolve));
        }
      })(),
      timeoutMs,
      what,
    );
  return {
    sink,
    subscription: {
      next: (timeoutMs = 5_000) => waitFor(() => events.shift(), timeoutMs, 'event'),
      ended: (timeoutMs = 5_000) => waitFor(() => ending, timeoutMs, 'ending'),
      unread: () => events.length,
    },
  };
}

/** Subscribes over `client` and keeps everything it hears. */
export function subscribeOn(client: Client, query: string, variables: Record<string, unknown> = {}): TestSubscription {
  const { sink, subscription } = collecting();
  client.subscribe<Record<string, any>>({ query, variables }, sink);
  return subscription;
}

/** A subscription a test ends itself (the client leaves). */
export interface ClosableSubscription extends TestSubscription {
  close(): void;
}

/** Subscribes over GraphQL over Server-Sent Events with graphql-sse's client, distinct connections mode. */
export function subscribeOverSse(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): ClosableSubscription {
  const { sink, subscription } = collecting();
  const client = createSseClient({ url, headers, singleConnection: false, retryAttempts: 0 });
  const unsubscribe = client.subscribe<Record<string, any>>({ query, variables }, sink);
  return {
    ...subscription,
    close() {
      unsubscribe();
      client.dispose();
    },
  };
}

/**
 * Subscribes over Apollo's multipart HTTP subscriptions, reading the parts as Apollo Client
 * does: a part is complete once the next delimiter has come (RFC 2046), `{}` parts are
 * heartbeats, a `{"payload":…}` part is an event, one with `errors` only ends the subscription.
 */
export function subscribeOverMultipart(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): ClosableSubscription {
  const { sink, subscription } = collecting();
  const abort = new AbortController();
  const read = async () => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'multipart/mixed;subscriptionSpec="1.0",application/json', ...headers },
      body: JSON.stringify({ query, variables }),
      signal: abort.signal,
    });
    const boundary = /;\s*boundary="?([^";]+)"?/.exec(response.headers.get('content-type') ?? '')?.[1];
    if (response.status !== 200 || !boundary) return sink.error({ status: response.status, body: await response.text() });
    const delimiter = `\r\n--${boundary}`;
    const decoder = new TextDecoder();
    let buffer = '';
    let delimited = false;
    for await (const chunk of response.body!) {
      buffer += decoder.decode(chunk, { stream: true });
      for (let at = buffer.indexOf(delimiter); at >= 0; at = buffer.indexOf(delimiter)) {
        const part = buffer.slice(0, at);
        buffer = buffer.slice(at + delimiter.length);
        delimited = true;
        // What comes before the first delimiter is a preamble, not a part.
        const blank = part.indexOf('\r\n\r\n');
        if (blank >= 0) {
          const body = JSON.parse(part.slice(blank + 4)) as { payload?: Event; errors?: unknown };
          if (body.payload) sink.next(body.payload);
          else if (body.errors) return sink.error(body.errors);
        }
      }
      // The closing delimiter: the last one, followed by `--`.
      if (delimited && buffer.startsWith('--')) return sink.complete();
    }
    sink.error(new Error('the multipart body ended before its closing delimiter'));
  };
  read().catch((error: unknown) => abort.signal.aborted || sink.error(error));
  return { ...subscription, close: () => abort.abort() };
}

/**
 * A graphql-ws client to a subgraph, as the gateway connects: one connection per operation,
 * its `connection_init` payload the three signed headers for `{ query, variables }`.
 */
export function signedClient(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  { user = null, connectionParams }: { user?: Identity | null; connectionParams?: Record<string, unknown> } = {},
): Client {
  return createClient({
    url: url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: connectionParams ?? signedRequestHeaders(TEST_SIGNING_SECRET, JSON.stringify({ query, variables }), user),
    retryAttempts: 0,
    lazy: false,
    onNonLazyError: () => undefined,
  });
}

/** Waits (bounded) until exactly `count` subscribers of `topic` would receive an event published now (0: every one has left). */
export async function subscribersOf(pubSub: SubgraphPubSub, topic: string, count = 1, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (pubSub.subscriberCount(topic) !== count) {
    if (Date.now() > deadline)
      throw new Error(`${topic} has ${pubSub.subscriberCount(topic)} subscribers, not ${count}, after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * Waits (bounded) until a subgraph's `/metrics` says `topic` has exactly `count` subscribers an
 * event published now would reach (0: every one has left): `subscribersOf` for a subgraph in another process.
 */
export async function scrapedSubscribersOf(metricsUrl: string, topic: string, count = 1, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = (await scrape(metricsUrl)).value('tessera_subgraph_event_subscribers', { topic }) ?? 0;
    if (found === count) return;
    if (Date.now() > deadline) throw new Error(`${topic} has ${found} subscribers at ${metricsUrl}, not ${count}, after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** An access token for grace (staff) that expires `seconds` from now: to watch a subscription end when it does. */
export function expiringStaffToken(seconds: number): Promise<string> {
  return new SignJWT({ username: 'grace', roles: ['staff'], scope: '' })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(seedId('user', 'grace'))
    .setIssuer('tessera')
    .setAudience('tessera')
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + seconds)
    .sign(new TextEncoder().encode(TEST_JWT_SECRET));
}
