/**
 * Events on their way to one subscriber, bounded: `push` past `max` waiting items calls
 * `onOverflow` (the subscription ends rather than the gateway's memory growing with a client
 * that reads slower than events come). Read as an async iterator; `return()` (the client left)
 * calls `onClose` once.
 */
export class EventQueue<T> implements AsyncIterableIterator<T> {
  private readonly items: T[] = [];
  private readonly waiting: ((result: IteratorResult<T>) => void)[] = [];
  private done = false;
  private closed = false;

  constructor(
    private readonly max: number,
    private readonly onOverflow: () => void,
    private readonly onClose: () => void,
  ) {}

  /** Items waiting for the reader. */
  get size(): number {
    return this.items.length;
  }

  push(item: T): void {
    if (this.done) return;
    const reader = this.waiting.shift();
    if (reader) return reader({ value: item, done: false });
    if (this.items.length >= this.max) return this.onOverflow();
    this.items.push(item);
  }

  /** Ends the stream after what is queued, with `last` as its final item when given (it always fits). */
  finish(last?: T): void {
    if (this.done) return;
    if (last !== undefined) {
      const reader = this.waiting.shift();
      if (reader) reader({ value: last, done: false });
      else this.items.push(last);
    }
    this.done = true;
    for (const reader of this.waiting.splice(0)) reader({ value: undefined, done: true });
    this.close();
  }

  /** Ends the stream now, dropping what is queued, with `last` as the only item still read. */
  fail(last: T): void {
    this.items.length = 0;
    this.finish(last);
  }

  next(): Promise<IteratorResult<T>> {
    const item = this.items.shift();
    if (item !== undefined) return Promise.resolve({ value: item, done: false });
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  return(): Promise<IteratorResult<T>> {
    this.items.length = 0;
    this.finish();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private close() {
    if (this.closed) return;
    this.closed = true;
    this.onClose();
  }
}
