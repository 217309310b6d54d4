import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { sendError, StartingError } from '../errors/errors.js';

/** What a subgraph is doing before it serves, as `/health` reports it. */
export type StartupPhase = 'opening store' | 'migrating' | 'seeding' | 'building schema';

/**
 * A subgraph listens before it opens its store, so that whoever waits for it (the gateway,
 * `npm start`, an orchestrator) can tell a subgraph at work on its migrations or seed from one
 * that is not there: `/health` answers 200 `starting` with the phase, `/ready` 503, and every
 * other request 503 `STARTING` (with the phase, and `Retry-After`). Once the app is handed
 * over, it serves everything.
 */
interface StartupGate {
  /** The listener to serve: the gate while starting, the app afterwards. */
  readonly listener: RequestListener;
  phase(phase: StartupPhase): void;
  /** Hands every request, from now on, to the app. */
  open(app: RequestListener): void;
}

function answer(res: ServerResponse, status: number, body: object): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'retry-after': '1',
  });
  res.end(text);
}

export function createStartupGate(): StartupGate {
  let phase: StartupPhase = 'opening store';
  let app: RequestListener | undefined;
  const startedAt = Date.now();
  const starting = (req: IncomingMessage, res: ServerResponse) => {
    // The body is not read: answered at once, the request is done with.
    const path = (req.url ?? '/').split('?')[0];
    const report = { status: 'starting', phase, startingForMs: Date.now() - startedAt };
    if (path === '/health') return answer(res, 200, report);
    if (path === '/ready') return answer(res, 503, { ...report, ready: false });
    sendError(res, new StartingError(phase));
  };
  return {
    listener: (req, res) => (app ? app(req, res) : starting(req, res)),
    phase(next) {
      phase = next;
    },
    open(next) {
      app = next;
    },
  };
}
