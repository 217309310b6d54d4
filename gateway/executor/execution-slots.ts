/**
 * At most `max` plans run at once in the gateway process; the requests beyond wait their turn,
 * first come first served. On one event loop more plans at once add no throughput, only
 * memory: each holds its subgraph answers and response tree for as long as it is interleaved
 * with the others, long enough for V8 to promote them to the old generation, which then grows
 * to hundreds of MiB of garbage under load. Run a few at a time, a request's objects die young.
 * A waiting request holds little (its parsed operation). A plan gives its slot up after
 * `holdMs` even if it has not finished: a subgraph that hangs then delays the requests behind
 * it by `holdMs` at most, instead of stalling the gateway until its timeout, and a plan that
 * slow lives long enough to be promoted anyway.
 */
export class ExecutionSlots {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly max: number,
    private readonly holdMs = 100,
  ) {}

  /** Plans running now. */
  get active(): number {
    return this.running;
  }

  /** Plans waiting for a slot. */
  get queued(): number {
    return this.waiting.length;
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.running < this.max) this.running++;
    // A slot freed is handed straight to the first waiter: `running` stays as it is.
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    let held = true;
    const release = () => {
      if (!held) return;
      held = false;
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    };
    const timer = setTimeout(release, this.holdMs);
    try {
      return await work();
    } finally {
      clearTimeout(timer);
      release();
    }
  }
}
