import type { GraphQLFormattedError } from 'graphql';
import { ErrorCode } from '../../shared/errors/codes.js';

export interface SubscriptionLimitsConfig {
  perUser: number;
  connectionsPerIp: number;
}

/** A held place: given back once. */
export type Release = () => void;

/**
 * How many subscriptions each caller holds and how many subscription connections each client
 * address has open, across every transport of this gateway process.
 */
export class SubscriptionLimits {
  private readonly byUser = new Map<string, number>();
  private readonly byIp = new Map<string, number>();

  constructor(private readonly config: SubscriptionLimitsConfig) {}

  /** A place for a connection from `ip`, or the error refusing it. */
  connection(ip: string): Release | GraphQLFormattedError {
    return this.take(
      this.byIp,
      ip,
      this.config.connectionsPerIp,
      `More than ${this.config.connectionsPerIp} subscription connections from one address.`,
    );
  }

  /** A place for a subscription of `caller` (a user id; anonymous callers count by address), or the error refusing it. */
  subscription(caller: string): Release | GraphQLFormattedError {
    return this.take(this.byUser, caller, this.config.perUser, `More than ${this.config.perUser} subscriptions for one caller.`);
  }

  private take(counts: Map<string, number>, key: string, max: number, message: string): Release | GraphQLFormattedError {
    const held = counts.get(key) ?? 0;
    if (held >= max) return limitError(message);
    counts.set(key, held + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (counts.get(key) ?? 1) - 1;
      if (left > 0) counts.set(key, left);
      else counts.delete(key);
    };
  }
}

export function limitError(message: string): GraphQLFormattedError {
  return { message, extensions: { code: ErrorCode.SUBSCRIPTION_LIMIT_EXCEEDED } };
}
