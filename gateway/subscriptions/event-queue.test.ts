import { describe, expect, it, jest } from '@jest/globals';
import { EventQueue } from './event-queue.js';

describe('EventQueue', () => {
  it('hands items to a waiting reader, keeps up to max for a slow one, and overflows past it', async () => {
    const onOverflow = jest.fn();
    const onClose = jest.fn();
    const queue = new EventQueue<number>(2, onOverflow, onClose);
    const waiting = queue.next();
    queue.push(1);
    expect(await waiting).toEqual({ value: 1, done: false });
    queue.push(2);
    queue.push(3);
    expect(onOverflow).not.toHaveBeenCalled();
    queue.push(4);
    expect(onOverflow).toHaveBeenCalledTimes(1);
    expect(queue.size).toBe(2);
  });

  it('fail drops what waits and ends with its last item; the reader is told done after it, and onClose runs once', async () => {
    const onClose = jest.fn();
    const queue = new EventQueue<string>(10, () => {}, onClose);
    queue.push('a');
    queue.push('b');
    queue.fail('SLOW_CONSUMER');
    queue.push('late');
    expect(await queue.next()).toEqual({ value: 'SLOW_CONSUMER', done: false });
    expect(await queue.next()).toEqual({ value: undefined, done: true });
    await queue.return();
    expect(onClose).toHaveBeenCalledTimes(1);
  });

  it('finish delivers what is queued first; return (the client left) closes at once', async () => {
    const onClose = jest.fn();
    const queue = new EventQueue<number>(10, () => {}, onClose);
    queue.push(1);
    queue.finish(2);
    expect([await queue.next(), await queue.next(), await queue.next()]).toEqual([
      { value: 1, done: false },
      { value: 2, done: false },
      { value: undefined, done: true },
    ]);
    const left = new EventQueue<number>(10, () => {}, onClose);
    const pending = left.next();
    await left.return();
    expect(await pending).toEqual({ value: undefined, done: true });
    expect(onClose).toHaveBeenCalledTimes(2);
  });
});
