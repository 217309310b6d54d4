import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { ConfigError } from '../config/config.js';
import { loadSubgraphConfig } from '../config/subgraph-config.js';
import { postgresDriverOptions } from './postgres-url.js';

const certificates = mkdtempSync(join(tmpdir(), 'tessera-pg-tls-'));
const file = (name: string, content: string) => {
  const path = join(certificates, name);
  writeFileSync(path, content);
  return path;
};

afterAll(() => rmSync(certificates, { recursive: true, force: true }));

describe("a PostgreSQL URL's query, for node-postgres", () => {
  it('carries TLS and the application name', () => {
    const options = postgresDriverOptions('postgres://u:p@db.example.com:5432/shop?sslmode=require&application_name=x');
    expect(options.application_name).toBe('x');
    // pg 8: require verifies the certificate and the host name, as verify-full does.
    expect(options.ssl).toEqual({});
  });

  it('connects in plaintext only when told: sslmode=disable', () => {
    expect(postgresDriverOptions('postgres://db/shop?sslmode=disable')).toEqual({ ssl: false });
    // Nothing said: no ssl key at all, so that pg still reads PGSSLMODE.
    expect(postgresDriverOptions('postgres://db/shop')).toEqual({});
  });

  it('reads the CA, the client certificate and its key from their files', () => {
    const ca = file('root.crt', 'CA');
    const cert = file('client.crt', 'CERT');
    const key = file('client.key', 'KEY');
    expect(postgresDriverOptions(`postgres://db/shop?sslmode=verify-full&sslrootcert=${ca}&sslcert=${cert}&sslkey=${key}`).ssl).toEqual({
      ca: 'CA',
      cert: 'CERT',
      key: 'KEY',
    });
  });

  it('follows libpq when asked: require encrypts without verifying', () => {
    expect(postgresDriverOptions('postgres://db/shop?sslmode=require&uselibpqcompat=true').ssl).toEqual({ rejectUnauthorized: false });
  });

  it('passes session parameters and the connect timeout (seconds) on', () => {
    expect(postgresDriverOptions('postgres://db/shop?options=-c%20search_path%3Dshop&statement_timeout=5000&connect_timeout=10')).toEqual({
      options: '-c search_path=shop',
      statement_timeout: '5000',
      connectionTimeoutMillis: 10_000,
    });
  });

  it('refuses what it would otherwise drop or misread, naming the parameter', () => {
    expect(() => postgresDriverOptions('postgres://db/shop?sslmod=require')).toThrow(
      /unknown parameter "sslmod" \(supported: sslmode, sslrootcert/,
    );
    expect(() => postgresDriverOptions('postgres://db/shop?sslmode=required')).toThrow(
      /sslmode=required is not one of disable, allow, prefer, require, verify-ca, verify-full/,
    );
    expect(() => postgresDriverOptions(`postgres://db/shop?sslmode=verify-full&sslrootcert=${join(certificates, 'missing.crt')}`)).toThrow(
      /sslrootcert=.*missing\.crt cannot be read \(ENOENT\)/,
    );
    expect(() => postgresDriverOptions('postgres://db/shop?connect_timeout=soon')).toThrow(
      /connect_timeout=soon is not a whole number of seconds/,
    );
  });
});

describe('the query of DATABASE_URL in the subgraph configuration', () => {
  it("is kept on each subgraph's derived database and on <NAME>_DATABASE_URL", () => {
    const shared = loadSubgraphConfig('order-history', 4009, {
      DATABASE_URL: 'postgres://u:p@db:5432/shop?sslmode=require&application_name=shop',
    });
    expect(shared.store).toEqual({
      kind: 'postgresql',
      clientUrl: 'postgres://u:p@db:5432/postgres?sslmode=require&application_name=shop',
      dbName: 'shop_order_history',
    });
    const own = loadSubgraphConfig('reviews', 4004, {
      DATABASE_URL: 'postgres://db/shop',
      REVIEWS_DATABASE_URL: 'postgres://other/reviews_db?sslmode=disable',
    });
    expect(own.store).toMatchObject({ clientUrl: 'postgres://other/postgres?sslmode=disable', dbName: 'reviews_db' });
  });

  it('is checked at start-up, naming the variable', () => {
    const attempt = () =>
      loadSubgraphConfig('reviews', 4004, {
        DATABASE_URL: 'postgres://db/shop?sslmode=requre',
        REVIEWS_DATABASE_URL: 'postgres://db/r?ssl_mode=require',
      });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/DATABASE_URL: sslmode=requre is not one of/);
    expect(attempt).toThrow(/REVIEWS_DATABASE_URL: unknown parameter "ssl_mode"/);
  });
});
