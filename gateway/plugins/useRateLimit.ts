import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError } from 'graphql';
import type { ProtectionConfig } from '../../shared/config.js';
import { rateLimitedWarn, type Logger } from '../../shared/logger.js';
import type { GatewayContext } from '../context.js';
import type { RateLimitDecision, RateLimiter } from '../rate-limit/limiter.js';
import { ErrorCode } from '../../shared/errors.js';

/** The configured limits (see `ProtectionConfig['rateLimit']`), and where counts are kept. */
export type RateLimitOptions = Omit<ProtectionConfig['rateLimit'], 'enabled'> & {
  limiter: RateLimiter;
  logger: Logger;
  /** Told of each refusal, by the limit that refused (the gateway's metrics). Default: nobody. */
  onRefusal?: (limit: 'caller' | 'operation' | 'unavailable') => void;
};

function headers(decision: RateLimitDecision): [string, string][] {
  return [
    ['ratelimit-limit', String(decision.limit)],
    ['ratelimit-remaining', String(decision.remaining)],
    ['ratelimit-reset', String(decision.resetSeconds)],
  ];
}

/**
 * Sliding-window rate limits per caller: the user id when signed in, else the client's IP
 * (which honours X-Forwarded-For only from trusted proxies, see `TRUSTED_PROXIES`). Over the
 * limit: HTTP 429, `Retry-After`, `RATE_LIMITED`. Every limited response carries the
 * `RateLimit-*` headers of the caller's budget.
 */
export function useRateLimit(options: RateLimitOptions): ApolloServerPlugin<GatewayContext> {
  const warn = rateLimitedWarn(options.logger);
  const limitFor = (roles: string[]) => Math.max(options.limit, ...roles.map((role) => options.roleLimits[role] ?? 0)) + options.burst;

  return {
    async requestDidStart() {
      let budget: RateLimitDecision | undefined;
      return {
        async didResolveOperation({ contextValue, operationName }) {
          const caller = contextValue.user ? `user:${contextValue.user.userId}` : `ip:${contextValue.clientIp}`;
          const charge = options.chargeBy === 'cost' ? Math.max(1, contextValue.estimatedCost ?? 1) : 1;
          const checks: [string, number][] = [[caller, limitFor(contextValue.user?.roles ?? [])]];
          const operationLimit = operationName ? options.operationLimits[operationName] : undefined;
          if (operationName && operationLimit !== undefined) checks.push([`${caller}:op:${operationName}`, operationLimit]);
          for (const [key, limit] of checks) {
            let decision: RateLimitDecision;
            try {
              decision = await options.limiter.consume(key, charge, limit, options.windowMs);
            } catch (error) {
              warn({ err: (error as Error).message }, `rate limiter unavailable; failing ${options.failClosed ? 'closed' : 'open'}`);
              if (!options.failClosed) return;
              options.onRefusal?.('unavailable');
              throw new GraphQLError('Requests cannot be admitted right now; try again shortly.', {
                extensions: { code: ErrorCode.RATE_LIMITED, reason: 'limiter_unavailable', http: { status: 429, headers: new Map([['retry-after', '1']]) } },
              });
            }
            budget ??= decision;
            if (!decision.allowed) {
              options.onRefusal?.(key === caller ? 'caller' : 'operation');
              throw new GraphQLError(`Too many requests: the limit is ${decision.limit} per ${options.windowMs / 1000} s. Retry in ${decision.retryAfterSeconds} s.`, {
                extensions: {
                  code: ErrorCode.RATE_LIMITED,
                  retryAfter: decision.retryAfterSeconds,
                  http: { status: 429, headers: new Map([...headers(decision), ['retry-after', String(decision.retryAfterSeconds)]]) },
                },
              });
            }
          }
        },
        async willSendResponse({ response }) {
          if (!budget) return;
          for (const [name, value] of headers(budget)) if (!response.http.headers.has(name)) response.http.headers.set(name, value);
        },
      };
    },
  };
}
