import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import express from 'express';
import { loadTrustedDocuments, trustedDocumentsGuard } from './trusted-documents.js';
import { closeServer, enterRequestScope, listen } from '../../shared/http/http.js';
import { capturingLogger } from '../../test/support/logger.js';
import { postRaw, rawAnswer } from '../../test/support/subgraph.js';
import { temporaryFolderForSuite } from '../../test/support/suite.js';

const TOP = 'query Top { topProducts { name } }';
const ME = 'query Me { me { username } }';
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const byHash = (hash: string, operationName?: string) => ({
  operationName,
  extensions: { persistedQuery: { version: 1, sha256Hash: hash } },
});

describe('reading the persisted-documents manifests', () => {
  const inFolder = temporaryFolderForSuite('tessera-manifests-');
  const manifest = async (name: string, entries: Record<string, unknown> | string) => {
    const path = inFolder(name);
    await writeFile(path, typeof entries === 'string' ? entries : JSON.stringify(entries));
    return path;
  };
  const load = (...manifests: string[]) => loadTrustedDocuments({ mode: 'enforce', manifests });

  it('trusts the union of the manifests given, as files or folders of *.json, keyed by hex hash with or without sha256:', async () => {
    const folder = inFolder('clients');
    await mkdir(folder);
    await writeFile(join(folder, 'web.json'), JSON.stringify({ [sha256(ME)]: ME }));
    const documents = await load(await manifest('ours.json', { [`sha256:${sha256(TOP)}`]: TOP }), folder);
    expect([...documents]).toEqual([
      [sha256(TOP), TOP],
      [sha256(ME), ME],
    ]);
  });

  it.each([
    ['missing', async () => inFolder('absent.json'), /cannot be read \(ENOENT\)/],
    ['not JSON', () => manifest('broken.json', '{"sha256:'), /it is not JSON/],
    ['empty', () => manifest('empty.json', {}), /it holds no documents/],
    ['keyed by something else', () => manifest('keys.json', { top: TOP }), /its key "top" is not a sha256 hash/],
    ['edited by hand', () => manifest('edited.json', { [sha256(TOP)]: `${TOP} ` }), /does not hash to its key/],
    ['unparsable', () => manifest('unparsable.json', { [sha256('query {')]: 'query {' }), /does not parse/],
  ])('stops the gateway at start on a manifest %s, saying what to run', async (_, path, problem) => {
    const error = (await load(await path()).catch((e: Error) => e)) as Error;
    expect(error.message).toMatch(problem);
    expect(error.message).toMatch(/npm run codegen/);
  });

  it('refuses two manifests naming different documents by one hash', async () => {
    const a = await manifest('a.json', { [sha256(TOP)]: TOP });
    const b = await manifest('b.json', { [`sha256:${sha256(TOP)}`]: ME });
    await expect(load(a, b)).rejects.toThrow(/both hold sha256:[0-9a-f]{64}, with different documents/);
  });
});

describe('the trusted documents guard', () => {
  const documents = new Map([[sha256(TOP), TOP]]);
  const { logger, lines } = capturingLogger('info');
  const servers: { url: string; stop(): Promise<void> }[] = [];
  const guarded: Record<'log' | 'enforce', string> = { log: '', enforce: '' };

  /** The guard where the gateway puts it, after the body parser; behind it, what reached Apollo Server. */
  beforeAll(async () => {
    for (const mode of ['log', 'enforce'] as const) {
      const app = express();
      app.use(enterRequestScope({ logger }), express.json());
      const reached: express.RequestHandler = (req, res) => void res.json({ reached: req.method === 'GET' ? req.url : req.body });
      app.use('/graphql', trustedDocumentsGuard({ mode, documents, logger }), reached);
      const { server, url } = await listen(app, '127.0.0.1', 0);
      servers.push({ url, stop: () => closeServer(server, 0) });
      guarded[mode] = `${url}/graphql`;
    }
  });
  afterAll(async () => {
    for (const server of servers) await server.stop();
  });

  it('runs a manifest hash sent alone as its document, the APQ extension dropped', async () => {
    const { status, body } = await postRaw(guarded.enforce, byHash(sha256(TOP)));
    expect(status).toBe(200);
    expect(body).toEqual({ reached: { query: TOP, extensions: {} } });
  });

  it("admits a manifest document's exact text, and refuses any other with PERSISTED_QUERY_REQUIRED", async () => {
    expect((await postRaw(guarded.enforce, { query: TOP })).status).toBe(200);
    const other = await postRaw(guarded.enforce, { query: `${TOP} ` });
    expect(other.status).toBe(400);
    expect(other.body.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_REQUIRED');
  });

  it('refuses a hash the manifest lacks with PERSISTED_QUERY_NOT_IN_LIST, naming the operation, and logs it at info', async () => {
    const unknown = await postRaw(guarded.enforce, byHash(sha256(ME), 'Me'), { 'x-request-id': 'guarded' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors?.[0]?.extensions).toEqual({ code: 'PERSISTED_QUERY_NOT_IN_LIST', operationName: 'Me' });
    const refusal = { level: 30, msg: 'untrusted document refused', requestId: 'guarded', documentHash: sha256(ME) };
    expect(lines).toContainEqual(expect.objectContaining(refusal));
  });

  it('refuses a batch holding one untrusted operation', async () => {
    const batch = await postRaw(guarded.enforce, [byHash(sha256(TOP)), { query: ME }]);
    expect(batch.body.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_REQUIRED');
  });

  it('replaces the hash of a GET by its document in the URL', async () => {
    const params = new URLSearchParams({ extensions: JSON.stringify(byHash(sha256(TOP)).extensions) });
    const { body } = await rawAnswer(await fetch(`${guarded.enforce}?${params}`));
    const reached = new URLSearchParams(String((body as { reached: string }).reached).split('?')[1]);
    expect(reached.get('query')).toBe(TOP);
    expect(reached.get('extensions')).toBe('{}');
  });

  it('in log mode serves everything and warns of each untrusted document', async () => {
    const served = await postRaw(guarded.log, { query: ME, operationName: 'Me' });
    expect(served.status).toBe(200);
    const warning = { level: 40, msg: 'untrusted document served', operationName: 'Me', code: 'PERSISTED_QUERY_REQUIRED' };
    expect(lines).toContainEqual(expect.objectContaining(warning));
  });
});
