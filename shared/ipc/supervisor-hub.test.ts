import { EventEmitter } from 'node:events';
import { describe, expect, it } from '@jest/globals';
import { childHub, supervisorHub, type HubMessage, type IpcEnd } from './supervisor-hub.js';

/** A child's end of a fake IPC pair: what it sends is recorded (and can be refused), `deliver` plays the supervisor's side. */
function fakeEnd() {
  const end = new EventEmitter() as EventEmitter & { connected: boolean; sent: unknown[]; unrefs: number; refuse?: Error };
  end.connected = true;
  end.sent = [];
  end.unrefs = 0;
  const ipc = Object.assign(end, {
    channel: { unref: () => void end.unrefs++, ref: () => undefined },
    send: (message: unknown, _handle: unknown, _options: unknown, callback: (error: Error | null) => void) => {
      end.sent.push(message);
      setImmediate(() => callback(end.refuse ?? null));
      return true;
    },
  });
  return { end, ipc: ipc as unknown as IpcEnd, deliver: (message: unknown) => end.emit('message', message) };
}

describe('the supervisor hub, in a child', () => {
  it('is none unless the process is a supervised child with a channel', () => {
    expect(supervisorHub(false)).toBeUndefined();
  });

  it('sends over the channel, resolving once it is handed over, and rejects what the channel refuses or when it is closed', async () => {
    const { end, ipc } = fakeEnd();
    const hub = childHub(ipc);
    await hub.send({ hub: 'jobs.hello' });
    expect(end.sent).toEqual([{ hub: 'jobs.hello' }]);
    end.refuse = new Error('channel closed');
    await expect(hub.send({ hub: 'jobs.hello' })).rejects.toThrow('channel closed');
    end.connected = false;
    await expect(hub.send({ hub: 'jobs.hello' })).rejects.toThrow(/closed/);
  });

  it('hears the other children’s messages (what has no `hub` is not its), without the channel keeping the process up', () => {
    const { end, ipc, deliver } = fakeEnd();
    const heard: HubMessage[] = [];
    const stop = childHub(ipc).onMessage((message) => heard.push(message));
    expect(end.unrefs).toBe(1);
    deliver({ hub: 'cache.purge', message: { subgraph: 'catalog', tags: ['Product#?'] } });
    deliver({ other: 'thing' });
    deliver('text');
    stop();
    deliver({ hub: 'jobs.hello' });
    expect(heard).toEqual([{ hub: 'cache.purge', message: { subgraph: 'catalog', tags: ['Product#?'] } }]);
  });
});
