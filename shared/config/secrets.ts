import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../observability/logger.js';

/**
 * A development secret kept in the data folder, made on first use. Every process of one
 * `npm start` reads the same file; the one that gets there first writes it. `link` creates
 * the final name only if it does not exist, so no process can read a half-written file.
 */
async function developmentSecret(dataDir: string, name: string, logger: Logger): Promise<string> {
  const dir = join(dataDir, 'secrets');
  const file = join(dir, name);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const existing = await readFile(file, 'utf8').catch(() => undefined);
  if (existing) return existing.trim();
  const draft = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  await writeFile(draft, randomBytes(48).toString('base64url'), { mode: 0o600 });
  try {
    await link(draft, file);
    logger.warn({ file }, `generated a development secret (${name}); set it explicitly outside development`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    await rm(draft, { force: true });
  }
  return (await readFile(file, 'utf8')).trim();
}

interface SecretBearingConfig {
  env: string;
  dataDir: string;
  signingSecret: string | undefined;
  jwt: { secret: string | undefined; algorithms: string[] };
}

/** A config once `withSecrets` has run: the signing secret is there, given or generated. */
export type WithSecrets<C extends { signingSecret: string | undefined }> = C & { signingSecret: string };

/**
 * Fills in the secrets a development or test process was not given, from the data folder.
 * Production configs already carry theirs (the config refuses to load without them).
 */
export async function withSecrets<C extends SecretBearingConfig>(config: C, logger: Logger): Promise<WithSecrets<C>> {
  if (config.env === 'production') {
    if (!config.signingSecret) throw new Error('SUBGRAPH_SIGNING_SECRET: required in production');
    return { ...config, signingSecret: config.signingSecret };
  }
  const signingSecret = config.signingSecret ?? (await developmentSecret(config.dataDir, 'subgraph-signing-secret', logger));
  const jwtSecret =
    config.jwt.secret ??
    (config.jwt.algorithms.includes('HS256') ? await developmentSecret(config.dataDir, 'jwt-secret', logger) : undefined);
  return { ...config, signingSecret, jwt: { ...config.jwt, secret: jwtSecret } };
}
