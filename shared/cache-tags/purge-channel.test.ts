import { describe, expect, it } from '@jest/globals';
import { fakeHub } from '../../test/support/hub.js';
import { createPurgePublisher, onProcessPurges, type PurgeMessage } from './purge-channel.js';

/* Without Redis, a job's purge reaches a gateway in its own process and, over the supervisor's hub, in another child's. */

describe('the purge channel without Redis', () => {
  it('reaches the gateway of another supervised child over the hub, as well as this process’s', async () => {
    const hub = fakeHub();
    const subgraphSide = hub.connect();
    const gatewaySide = hub.connect();
    const heard: PurgeMessage[] = [];
    const stop = onProcessPurges((message) => heard.push(message), gatewaySide);
    try {
      await createPurgePublisher(undefined, 'tessera:', subgraphSide)({ subgraph: 'catalog', tags: ['Product:p1#averageRating'] });
      // Heard at once in the process (the same EventEmitter here), then over the hub.
      expect(heard).toHaveLength(1);
      await new Promise((resolve) => setImmediate(resolve));
      expect(heard).toEqual([
        { subgraph: 'catalog', tags: ['Product:p1#averageRating'] },
        { subgraph: 'catalog', tags: ['Product:p1#averageRating'] },
      ]);
    } finally {
      stop();
    }
  });

  it('drops a malformed hub message, and a publish the hub refuses rejects (the job’s attempt fails, and is retried)', async () => {
    const hub = fakeHub();
    const sender = hub.connect();
    const heard: PurgeMessage[] = [];
    const stop = onProcessPurges((message) => heard.push(message), hub.connect());
    try {
      await sender.send({ hub: 'cache.purge', message: { subgraph: 'catalog', tags: [] } });
      await sender.send({ hub: 'jobs.hello' });
      await new Promise((resolve) => setImmediate(resolve));
      expect(heard).toEqual([]);
      sender.connected = false;
      await expect(createPurgePublisher(undefined, 'tessera:', sender)({ subgraph: 'catalog', tags: ['Product#?'] })).rejects.toThrow(
        /channel is closed/,
      );
    } finally {
      stop();
    }
  });
});
