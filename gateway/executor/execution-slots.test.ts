import { describe, expect, it } from '@jest/globals';
import { ExecutionSlots } from './execution-slots.js';

/** A piece of work that ends when told to, recording when it started. */
function gated(started: string[], name: string) {
  let finish!: (value: string) => void;
  const done = new Promise<string>((resolve) => (finish = resolve));
  return {
    work: () => {
      started.push(name);
      return done;
    },
    finish: () => finish(name),
  };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('ExecutionSlots', () => {
  it('runs at most `max` at once and starts the waiting ones in arrival order as slots free', async () => {
    const slots = new ExecutionSlots(2);
    const started: string[] = [];
    const works = ['a', 'b', 'c', 'd'].map((name) => gated(started, name));
    const results = works.map((w) => slots.run(w.work));
    await settle();
    expect(started).toEqual(['a', 'b']);
    expect([slots.active, slots.queued]).toEqual([2, 2]);

    works[1]!.finish();
    await settle();
    expect(started).toEqual(['a', 'b', 'c']);
    expect([slots.active, slots.queued]).toEqual([2, 1]);

    works[0]!.finish();
    works[2]!.finish();
    works[3]!.finish();
    expect(await Promise.all(results)).toEqual(['a', 'b', 'c', 'd']);
    expect([slots.active, slots.queued]).toEqual([0, 0]);
  });

  it('frees the slot of a work that throws, and passes the error on', async () => {
    const slots = new ExecutionSlots(1);
    const failing = slots.run(() => Promise.reject(new Error('subgraph down')));
    const next = slots.run(async () => 'next');
    await expect(failing).rejects.toThrow('subgraph down');
    await expect(next).resolves.toBe('next');
    expect([slots.active, slots.queued]).toEqual([0, 0]);
  });

  it('gives the slot of a plan that hangs to the next after holdMs, and does not free it twice', async () => {
    const slots = new ExecutionSlots(1, 20);
    const started: string[] = [];
    const hung = gated(started, 'hung');
    const next = gated(started, 'next');
    const results = [slots.run(hung.work), slots.run(next.work)];
    await settle();
    expect(started).toEqual(['hung']);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(started).toEqual(['hung', 'next']);
    hung.finish();
    next.finish();
    expect(await Promise.all(results)).toEqual(['hung', 'next']);
    expect([slots.active, slots.queued]).toEqual([0, 0]);
  });
});
