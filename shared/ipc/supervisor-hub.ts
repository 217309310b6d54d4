import { z } from 'zod';

/**
 * The channel between the processes `npm start` supervises when there is no Redis (tooling/supervisor.ts relays
 * what one child sends to every other one): how an event reaches its consumer's process and a job's purge the
 * gateway's. Each message names its concern in `hub`; each concern checks its own messages.
 */
export interface HubChannel {
  /** Resolves once the message is handed to the channel (not once another process got it); rejects when it could not be. */
  send(message: HubMessage): Promise<void>;
  /** Hears what the other children sent; returns the unsubscribe. */
  onMessage(listener: (message: HubMessage) => void): () => void;
}

export const hubMessage = z.looseObject({ hub: z.string() });
export type HubMessage = z.infer<typeof hubMessage>;

let processHub: HubChannel | undefined;

/**
 * This process's channel to the supervisor, when it is a supervised child (`SUPERVISOR_IPC`, set by the supervisor)
 * with an IPC channel; else none, and everything stays within the process. One per process.
 */
export function supervisorHub(supervised: boolean): HubChannel | undefined {
  if (!supervised || !process.send) return undefined;
  return (processHub ??= childHub(process));
}

/** What the hub needs of a child's side of its IPC channel: `process` in a child spawned with one. */
export type IpcEnd = Pick<NodeJS.Process, 'send' | 'connected' | 'channel' | 'on' | 'off'>;

/** The hub over a child's IPC channel, which does not keep the child alive: its servers and timers decide that. */
export function childHub(child: IpcEnd): HubChannel {
  return {
    send: (message) =>
      new Promise((resolve, reject) => {
        if (!child.send || !child.connected) return reject(new Error('the supervisor channel is closed'));
        child.send(message, undefined, {}, (error: Error | null) => (error ? reject(error) : resolve()));
      }),
    onMessage(listener) {
      const onMessage = (raw: unknown) => {
        const parsed = hubMessage.safeParse(raw);
        if (parsed.success) listener(parsed.data);
      };
      child.on('message', onMessage);
      // Listening refs the channel; the child's own work keeps it up, and its end must not wait for the channel.
      child.channel?.unref();
      return () => {
        child.off('message', onMessage);
      };
    },
  };
}
