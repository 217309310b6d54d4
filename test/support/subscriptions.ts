import { createClient, type Client, type FormattedExecutionResult } from 'graphql-ws';
import type { Identity } from '../../shared/identity/identity.js';
import { signedRequestHeaders } from '../../shared/identity/signed-requests.js';
import type { SubgraphPubSub } from '../../shared/subgraph/pubsub.js';
import { TEST_SIGNING_SECRET } from './config.js';

/** How a subscription ended: completed, or an error (a close event, or the errors of a refused operation). */
export type Ending = { completed: true } | { error: unknown };

/** One subscription as a client sees it: what it received, and how it ended. */
export interface TestSubscription {
  /** The next event, or throws after `timeoutMs` (or when the subscription ends first). */
  next(timeoutMs?: number): Promise<FormattedExecutionResult<Record<string, any>, unknown>>;
  /** How it ended, or throws after `timeoutMs`. */
  ended(timeoutMs?: number): Promise<Ending>;
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms))),
  ]).finally(() => clearTimeout(timer));
}

/** Subscribes over `client` and keeps everything it hears. */
export function subscribeOn(client: Client, query: string, variables: Record<string, unknown> = {}): TestSubscription {
  const events: FormattedExecutionResult<Record<string, any>, unknown>[] = [];
  let wake: (() => void) | undefined;
  let ending: Ending | undefined;
  const notify = () => wake?.();
  client.subscribe<Record<string, any>>(
    { query, variables },
    {
      next: (event) => void (events.push(event), notify()),
      error: (error) => void ((ending = { error }), notify()),
      complete: () => void ((ending ??= { completed: true }), notify()),
    },
  );
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
    next: (timeoutMs = 5_000) => waitFor(() => events.shift(), timeoutMs, 'event'),
    ended: (timeoutMs = 5_000) => waitFor(() => ending, timeoutMs, 'ending'),
  };
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
