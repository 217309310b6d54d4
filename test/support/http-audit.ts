import { expect } from '@jest/globals';
import { auditServer } from 'graphql-http';

/**
 * Where an Apollo Server (so any Apollo Server or Apollo Router) falls short of graphql-http's
 * GraphQL over HTTP audit by its own choice: a GET without a preflight header is refused by its
 * CSRF prevention (400), and a document that does not parse, validate or coerce is answered 400
 * even to `application/json`.
 */
export const APOLLO_SERVER_CHOICES = {
  '5A70': 'notice', // MAY accept application/x-www-form-urlencoded GETs
  D6D5: 'notice', // MAY allow URL-encoded JSON {variables} in GETs (graphql-response+json)
  '6A70': 'notice', // the same, application/json
  '572B': 'warn', // SHOULD use 200 on a parse failure to application/json
  FDE2: 'warn', // SHOULD use 200 on a validation failure to application/json
  '7B9B': 'warn', // SHOULD use 200 on a variable coercion failure to application/json
};

/** graphql-http's server audit (what compliance suites run) against `url`: each audit short of ok, by id, with its status. */
export async function auditShortfalls(url: string): Promise<Record<string, string>> {
  const results = await auditServer({ url });
  expect(results.length).toBeGreaterThan(50);
  return Object.fromEntries(results.filter((result) => result.status !== 'ok').map((result) => [result.id, result.status]));
}
