import type { ApolloServerPlugin } from '@apollo/server';
import type { ProtectionConfig } from '../../shared/config/config.js';
import { throttledWarn, type Logger } from '../../shared/observability/logger.js';
import type { GatewayContext } from '../context.js';
import type { CostLimit } from '../protection/cost-limit.js';
import type { RateLimitDecision, RateLimiter } from './limiter.js';
import { ErrorCode, TesseraError } from '../../shared/errors/errors.js';
import { requestScope, type RequestScope } from '../../shared/http/request-scope.js';
import type { Identity } from '../../shared/identity/identity.js';

/** The configured limits (see `ProtectionConfig['rateLimit']`), and where counts are kept. */
export type RateLimitOptions = Omit<ProtectionConfig['rateLimit'], 'enabled'> & {
  limiter: RateLimiter;
  logger: Logger;
  /** The cost step's verdict on the request: it throws the refusal of a request not admitted, which then is not charged. */
  analysisOf: CostLimit['analysisOf'];
  /** Told of each refusal, by the limit that refused (the gateway's metrics). Default: nobody. */
  onRefusal?: (limit: 'caller' | 'operation' | 'unavailable') => void;
};

/** The `RateLimit-*` headers of a caller's budget. */
export function budgetHeaders(decision: RateLimitDecision): [string, string][] {
  return [
    ['ratelimit-limit', String(decision.limit)],
    ['ratelimit-remaining', String(decision.remaining)],
    ['ratelimit-reset', String(decision.resetSeconds)],
  ];
}

/** What one operation is charged for: who runs it, its name, its estimated cost and its root fields' runs. */
export interface ChargedOperation {
  user: Identity | null;
  operationName: string | null | undefined;
  cost: number;
  rootFields: Iterable<[field: string, runs: number]>;
}

/** A charge's outcome: the caller's budget (unknown when the limiter failed open first), and the refusal when over a limit. */
export interface RateLimitVerdict {
  budget?: RateLimitDecision;
  refusal?: TesseraError;
}

export interface RateLimitCharger {
  /** Charges the request in scope for `operation`. */
  charge(operation: ChargedOperation): Promise<RateLimitVerdict>;
  /**
   * Leaves a verdict reached outside Apollo Server (the response cache's fast path) to the
   * plugin, which then answers the request in scope with it instead of charging it again.
   */
  handOver(verdict: RateLimitVerdict): void;
}

/** The limits' arithmetic over keys, shared by the plugin and by the response cache's fast path (a hit is charged as its miss). */
function rateLimitCharger(
  options: Omit<RateLimitOptions, 'analysisOf'>,
): RateLimitCharger & { takeHandedOver(): RateLimitVerdict | undefined } {
  const warn = throttledWarn(options.logger);
  // Own keys only: an operation named `constructor` has no limit.
  const limitOf = (key: string) => (Object.hasOwn(options.operationLimits, key) ? options.operationLimits[key] : undefined);
  const limitFor = (roles: string[]) => Math.max(options.limit, ...roles.map((role) => options.roleLimits[role] ?? 0)) + options.burst;
  // By request scope, one per HTTP request: it is gone with its request.
  const handedOver = new WeakMap<RequestScope, RateLimitVerdict>();

  return {
    async charge({ user, operationName, cost, rootFields }) {
      const caller = user ? `user:${user.userId}` : `ip:${requestScope().clientIp}`;
      const charge = options.chargeBy === 'cost' ? Math.max(1, cost) : 1;
      const checks: [key: string, charge: number, limit: number][] = [[caller, charge, limitFor(user?.roles ?? [])]];
      const operationLimit = operationName ? limitOf(operationName) : undefined;
      if (operationName && operationLimit !== undefined) checks.push([`${caller}:op:${operationName}`, charge, operationLimit]);
      // Keyed on what runs, which the client cannot rename: each run of the field counts.
      for (const [field, runs] of rootFields) {
        const fieldLimit = limitOf(field);
        if (fieldLimit !== undefined) checks.push([`${caller}:field:${field}`, runs, fieldLimit]);
      }
      let budget: RateLimitDecision | undefined;
      for (const [key, units, limit] of checks) {
        let decision: RateLimitDecision;
        try {
          decision = await options.limiter.consume(key, units, limit, options.windowMs);
        } catch (error) {
          warn({ err: (error as Error).message }, `rate limiter unavailable; failing ${options.failClosed ? 'closed' : 'open'}`);
          if (!options.failClosed) return { budget };
          options.onRefusal?.('unavailable');
          const refusal = new TesseraError('Requests cannot be admitted right now; try again shortly.', ErrorCode.RATE_LIMITED, {
            extensions: { reason: 'limiter_unavailable' },
            refusesRequest: true,
            headers: { 'retry-after': '1' },
          });
          return { budget, refusal };
        }
        budget ??= decision;
        if (!decision.allowed) {
          options.onRefusal?.(key === caller ? 'caller' : 'operation');
          const message = `Too many requests: the limit is ${decision.limit} per ${options.windowMs / 1000} s. Retry in ${decision.retryAfterSeconds} s.`;
          const refusal = new TesseraError(message, ErrorCode.RATE_LIMITED, {
            extensions: { retryAfter: decision.retryAfterSeconds },
            refusesRequest: true,
            headers: Object.fromEntries([...budgetHeaders(decision), ['retry-after', String(decision.retryAfterSeconds)]]),
          });
          return { budget, refusal };
        }
      }
      return { budget };
    },
    handOver(verdict) {
      handedOver.set(requestScope(), verdict);
    },
    takeHandedOver() {
      const scope = requestScope();
      const verdict = handedOver.get(scope);
      handedOver.delete(scope);
      return verdict;
    },
  };
}

/**
 * Sliding-window rate limits per caller: the user id when signed in, else the client's IP
 * (which honours X-Forwarded-For only from trusted proxies, see `TRUSTED_PROXIES`). Over the
 * limit: HTTP 429, `Retry-After`, `RATE_LIMITED`. Every limited response carries the
 * `RateLimit-*` headers of the caller's budget. Only what the shape and cost steps admitted is
 * charged: 1 or its estimated cost to the caller and to its operation name's limit, and one per
 * run of a limited root field (`Mutation.login`) to that field's limit. Its `charger` charges
 * the response cache's hits answered before Apollo Server, the same way.
 */
export function useRateLimit(options: RateLimitOptions): ApolloServerPlugin<GatewayContext> & { charger: RateLimitCharger } {
  const charger = rateLimitCharger(options);
  return {
    charger,
    async requestDidStart() {
      let budget: RateLimitDecision | undefined;
      return {
        async didResolveOperation(requestContext) {
          const { contextValue, operationName } = requestContext;
          // Throws (and so charges nothing) when the request is refused before this step.
          const analysis = options.analysisOf(requestContext);
          // A cache hit refused before Apollo Server was charged there: its verdict stands.
          const verdict =
            charger.takeHandedOver() ??
            (await charger.charge({ user: contextValue.user, operationName, cost: analysis.cost, rootFields: analysis.rootFields }));
          budget = verdict.budget;
          if (verdict.refusal) throw verdict.refusal;
        },
        async willSendResponse({ response }) {
          if (!budget) return;
          for (const [name, value] of budgetHeaders(budget)) if (!response.http.headers.has(name)) response.http.headers.set(name, value);
        },
      };
    },
  };
}
