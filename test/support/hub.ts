import type { HubChannel, HubMessage } from '../../shared/ipc/supervisor-hub.js';

/**
 * The supervisor's hub without processes: each `connect()` is one child's channel; what one sends reaches every
 * other one, later and as a copy (as over IPC, serialized). `connected: false` makes a channel's sends fail, as
 * when the supervisor is gone.
 */
export function fakeHub() {
  const children = new Set<{ listeners: Set<(message: HubMessage) => void> }>();
  const sent: HubMessage[] = [];
  return {
    sent,
    connect(): HubChannel & { connected: boolean } {
      const child = { listeners: new Set<(message: HubMessage) => void>() };
      children.add(child);
      const channel = {
        connected: true,
        async send(message: HubMessage) {
          if (!channel.connected) throw new Error('the supervisor channel is closed');
          sent.push(message);
          const copy = JSON.stringify(message);
          for (const other of children) {
            if (other === child) continue;
            setImmediate(() => other.listeners.forEach((listener) => listener(JSON.parse(copy) as HubMessage)));
          }
        },
        onMessage(listener: (message: HubMessage) => void) {
          child.listeners.add(listener);
          return () => void child.listeners.delete(listener);
        },
      };
      return channel;
    },
  };
}
