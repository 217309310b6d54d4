import { expect } from '@jest/globals';

interface Answer {
  status: number;
  headers: { get(name: string): string | null | undefined };
  data?: unknown;
  errors?: { extensions?: Record<string, unknown> }[];
}

/**
 * A burst sent to a gateway limiting to `limit` a window of `windowSeconds`: the first `limit`
 * answers pass with the budget counting down; the rest are refused with 429, Retry-After and RATE_LIMITED.
 */
export function expectBurstRefusedOverLimit(answers: Answer[], { limit, windowSeconds }: { limit: number; windowSeconds: number }) {
  answers.slice(0, limit).forEach((answer, i) => {
    expect(answer.status).toBe(200);
    expect(answer.headers.get('ratelimit-limit')).toBe(String(limit));
    expect(answer.headers.get('ratelimit-remaining')).toBe(String(limit - 1 - i));
    expect(Number(answer.headers.get('ratelimit-reset'))).toBeLessThanOrEqual(windowSeconds);
  });
  for (const refused of answers.slice(limit)) {
    expect(refused.status).toBe(429);
    expect(refused.data).toBeUndefined();
    expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED' });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(refused.headers.get('ratelimit-remaining')).toBe('0');
  }
}
