import { accessSync, constants } from 'node:fs';
import type { PoolConfig } from 'pg';
import { parse } from 'pg-connection-string';

/**
 * The query parameters of a PostgreSQL URL that Tessera passes to node-postgres. MikroORM
 * builds its connection from the URL's host, port, user, password and database only, so
 * these would be dropped (`?sslmode=require` giving a plaintext connection); `schema` is
 * MikroORM's own. Anything else is refused: a misspelt `sslmod=require` must not connect
 * in plaintext either.
 */
const SUPPORTED_PARAMETERS = [
  'sslmode',
  'sslrootcert',
  'sslcert',
  'sslkey',
  'sslnegotiation',
  'uselibpqcompat',
  'ssl',
  'application_name',
  'fallback_application_name',
  'options',
  'client_encoding',
  'connect_timeout',
  'statement_timeout',
  'lock_timeout',
  'idle_in_transaction_session_timeout',
  'query_timeout',
  'schema',
] as const;

/** node-postgres's modes (pg 8: `prefer`, `require` and `verify-ca` verify like `verify-full` unless `uselibpqcompat=true`). */
const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full', 'no-verify'];

/** Passed to pg as they come, by the same names. */
const PASSED_AS_IS = [
  'application_name',
  'fallback_application_name',
  'options',
  'client_encoding',
  'statement_timeout',
  'lock_timeout',
  'idle_in_transaction_session_timeout',
  'query_timeout',
  'sslnegotiation',
] as const;

/**
 * pg Pool options from a PostgreSQL URL's query, for MikroORM's `driverOptions` (merged into
 * the pool's options, for the management connection that creates a database too). TLS
 * follows node-postgres: `sslmode`, with `sslrootcert`/`sslcert`/`sslkey` read from their
 * files. Throws, naming the parameter, on one it does not know or cannot use.
 */
export function postgresDriverOptions(url: string): Partial<PoolConfig> {
  const query = new URL(url).searchParams;
  const problems: string[] = [];
  for (const key of new Set(query.keys())) {
    if (!(SUPPORTED_PARAMETERS as readonly string[]).includes(key))
      problems.push(`unknown parameter "${key}" (supported: ${SUPPORTED_PARAMETERS.join(', ')})`);
  }
  const sslmode = query.get('sslmode');
  if (sslmode !== null && !SSL_MODES.includes(sslmode)) problems.push(`sslmode=${sslmode} is not one of ${SSL_MODES.join(', ')}`);
  const connectTimeout = query.get('connect_timeout');
  if (connectTimeout !== null && !/^\d+$/.test(connectTimeout))
    problems.push(`connect_timeout=${connectTimeout} is not a whole number of seconds`);
  for (const key of ['sslrootcert', 'sslcert', 'sslkey']) {
    const file = query.get(key);
    if (file === null) continue;
    try {
      accessSync(file, constants.R_OK);
    } catch (error) {
      problems.push(`${key}=${file} cannot be read (${(error as NodeJS.ErrnoException).code})`);
    }
  }
  if (problems.length) throw new Error(problems.join('; '));

  const parsed = parse(url);
  const options: Record<string, unknown> = {};
  // Left out when absent, so that pg still reads PGSSLMODE.
  if (parsed.ssl !== undefined) options.ssl = parsed.ssl;
  for (const key of PASSED_AS_IS) if (parsed[key] !== undefined) options[key] = parsed[key];
  // libpq counts seconds (0: wait for ever); pg counts milliseconds on the pool.
  if (connectTimeout !== null) options.connectionTimeoutMillis = Number(connectTimeout) * 1000;
  return options as Partial<PoolConfig>;
}
