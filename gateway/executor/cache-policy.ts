import type { GatewayCachePolicy } from '@apollo/server-gateway-interface';

/**
 * What a subgraph's `Cache-Control` allows of the whole response: its `max-age` and `private`;
 * no header, `no-store` or `no-cache` make the response uncacheable. The request's policy is
 * the most restrictive of its subgraphs' (Apollo Server's cache hints combine the same way).
 */
export function restrictByCacheControl(policy: GatewayCachePolicy | undefined, cacheControl: string | undefined): void {
  if (!policy) return;
  if (!cacheControl) {
    policy.restrict({ maxAge: 0 });
    return;
  }
  let maxAge = 0;
  let isPrivate = false;
  for (const part of cacheControl.toLowerCase().split(',')) {
    const [name, value] = part.trim().split('=');
    if (name === 'no-store' || name === 'no-cache') {
      policy.restrict({ maxAge: 0 });
      return;
    }
    if (name === 'max-age' && value !== undefined) maxAge = Number.parseInt(value, 10) || 0;
    if (name === 'private') isPrivate = true;
  }
  policy.restrict({ maxAge, ...(isPrivate && { scope: 'PRIVATE' }) });
}
