import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createClient, MeDocument, TesseraRequestError, TopProductsDocument } from '../../sdk/index.js';
import { repoRoot } from '../../shared/config/paths.js';
import { capturingLogger } from '../support/logger.js';
import { postRaw } from '../support/subgraph.js';
import { startTestSupergraph, type TestSupergraph } from '../support/supergraph.js';
import { temporaryFolderForSuite } from '../support/suite.js';

const MANIFEST = join(repoRoot, 'sdk/generated/persisted-documents.json');
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const ARBITRARY = '{ categories { slug } }';

interface Answer {
  status: number;
  body: { data?: any; errors?: { message: string; extensions?: Record<string, unknown> }[] };
  /** Requests the subgraphs received for this one. */
  fetches: number;
}

describe('trusted documents at the gateway', () => {
  let supergraph: TestSupergraph;
  let manifest: Record<string, string>;
  /** The manifest's TopProducts document: its hash (hex) and exact text. */
  let topProducts: { hash: string; text: string };
  const gateways: Record<'off' | 'log' | 'enforce', string> = { off: '', log: '', enforce: '' };
  const { logger: capture, lines: logged } = capturingLogger('info');

  beforeAll(async () => {
    manifest = JSON.parse(await readFile(MANIFEST, 'utf8')) as Record<string, string>;
    const [key, text] = Object.entries(manifest).find(([, document]) => document.startsWith('query TopProducts'))!;
    topProducts = { hash: key.replace('sha256:', ''), text };
    supergraph = await startTestSupergraph({ responseCache: false });
    gateways.off = supergraph.url;
    gateways.log = (
      await supergraph.startGateway({ responseCache: false, trustedDocuments: { mode: 'log', manifests: [MANIFEST] }, logger: capture })
    ).url;
    gateways.enforce = (
      await supergraph.startGateway({ responseCache: false, trustedDocuments: { mode: 'enforce', manifests: [MANIFEST] } })
    ).url;
  });
  afterAll(async () => {
    await supergraph?.stop();
  });

  async function send(url: string, body: Record<string, unknown>): Promise<Answer> {
    supergraph.resetRequests();
    const { status, body: answered } = await postRaw(url, body);
    return { status, body: answered as Answer['body'], fetches: supergraph.subgraphRequests() };
  }
  const byHash = (hash: string) => ({ variables: { first: 2 }, extensions: { persistedQuery: { version: 1, sha256Hash: hash } } });
  const served = (answer: Answer) => {
    expect(answer.body.errors).toBeUndefined();
    expect(answer.status).toBe(200);
    expect(answer.fetches).toBeGreaterThan(0);
  };
  const refused = (answer: Answer, code: string) => {
    expect(answer.status).toBe(400);
    expect(answer.body.errors?.map((e) => e.extensions?.code)).toEqual([code]);
    expect(answer.body.data).toBeUndefined();
    expect(answer.fetches).toBe(0);
  };

  describe('off (the default)', () => {
    it('serves any document, and knows hashes only through automatic persisted queries', async () => {
      served(await send(gateways.off, { query: ARBITRARY }));
      const unknown = await send(gateways.off, byHash(topProducts.hash));
      expect(unknown.body.errors?.map((e) => e.extensions?.code)).toEqual(['PERSISTED_QUERY_NOT_FOUND']);
      // APQ registration: the text with its hash; afterwards the hash alone works.
      served(await send(gateways.off, { query: ARBITRARY, extensions: { persistedQuery: { version: 1, sha256Hash: sha256(ARBITRARY) } } }));
      served(await send(gateways.off, byHash(sha256(ARBITRARY))));
    });
  });

  describe('log', () => {
    it('serves trusted documents by hash or exact text without a word', async () => {
      logged.length = 0;
      const answer = await send(gateways.log, byHash(topProducts.hash));
      served(answer);
      expect(answer.body.data.topProducts).toHaveLength(2);
      served(await send(gateways.log, { query: topProducts.text, variables: { first: 2 } }));
      expect(logged.filter((entry) => entry.msg === 'untrusted document served')).toEqual([]);
    });

    it('serves an untrusted document and logs a warning naming it', async () => {
      logged.length = 0;
      const answer = await send(gateways.log, { query: ARBITRARY, operationName: null });
      served(answer);
      expect(answer.body.data.categories).toHaveLength(4);
      expect(logged).toContainEqual(
        expect.objectContaining({
          level: 40,
          msg: 'untrusted document served',
          code: 'PERSISTED_QUERY_REQUIRED',
          documentHash: sha256(ARBITRARY),
          requestId: expect.any(String),
        }),
      );
    });
  });

  describe('enforce', () => {
    it('serves a manifest document sent by its hash alone, or as its exact text', async () => {
      const answer = await send(gateways.enforce, byHash(topProducts.hash));
      served(answer);
      expect(answer.body.data.topProducts.map((p: { name: string }) => p.name)).toEqual([
        'The Pragmatic Programmer',
        'Designing Data-Intensive Applications',
      ]);
      served(await send(gateways.enforce, { query: topProducts.text, variables: { first: 2 } }));
    });

    it('refuses any other document with PERSISTED_QUERY_REQUIRED before a subgraph is asked', async () => {
      refused(await send(gateways.enforce, { query: ARBITRARY }), 'PERSISTED_QUERY_REQUIRED');
      // The same operation as the manifest's, written differently, is another document.
      refused(await send(gateways.enforce, { query: `${topProducts.text}\n`, variables: { first: 2 } }), 'PERSISTED_QUERY_REQUIRED');
    });

    it('refuses a hash the manifest lacks with PERSISTED_QUERY_NOT_IN_LIST, not the APQ registration answer', async () => {
      const answer = await send(gateways.enforce, { ...byHash(sha256(ARBITRARY)), operationName: 'Sneaky' });
      refused(answer, 'PERSISTED_QUERY_NOT_IN_LIST');
      expect(answer.body.errors![0]!.extensions).toMatchObject({ operationName: 'Sneaky' });
    });

    it('cannot be worked around by registering a document as an automatic persisted query', async () => {
      refused(
        await send(gateways.enforce, { query: ARBITRARY, extensions: { persistedQuery: { version: 1, sha256Hash: sha256(ARBITRARY) } } }),
        'PERSISTED_QUERY_REQUIRED',
      );
      refused(await send(gateways.enforce, byHash(sha256(ARBITRARY))), 'PERSISTED_QUERY_NOT_IN_LIST');
    });

    it('holds for GET requests too', async () => {
      const get = async (params: Record<string, string>) => {
        supergraph.resetRequests();
        const response = await fetch(`${gateways.enforce}?${new URLSearchParams(params)}`, {
          headers: { 'apollo-require-preflight': 'true' },
        });
        return { status: response.status, body: (await response.json()) as Answer['body'], fetches: supergraph.subgraphRequests() };
      };
      const answer = await get({
        variables: JSON.stringify({ first: 1 }),
        extensions: JSON.stringify(byHash(topProducts.hash).extensions),
      });
      served(answer);
      expect(answer.body.data.topProducts).toHaveLength(1);
      refused(await get({ query: ARBITRARY }), 'PERSISTED_QUERY_REQUIRED');
    });

    it('judges every operation of a batch: one untrusted operation refuses the batch', async () => {
      const { url } = await supergraph.startGateway({
        responseCache: false,
        protection: { maxBatch: 2 },
        trustedDocuments: { mode: 'enforce', manifests: [MANIFEST] },
      });
      const batch = async (operations: Record<string, unknown>[]) => {
        supergraph.resetRequests();
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(operations),
        });
        return { status: response.status, body: (await response.json()) as unknown, fetches: supergraph.subgraphRequests() };
      };
      const both = await batch([byHash(topProducts.hash), { query: topProducts.text, variables: { first: 1 } }]);
      expect(both.status).toBe(200);
      expect((both.body as { data: { topProducts: unknown[] } }[]).map((answer) => answer.data.topProducts.length)).toEqual([2, 1]);
      const mixed = await batch([byHash(topProducts.hash), { query: ARBITRARY }]);
      expect(mixed).toEqual({
        status: 400,
        body: { errors: [expect.objectContaining({ extensions: { code: 'PERSISTED_QUERY_REQUIRED' } })] },
        fetches: 0,
      });
    });

    it('serves the SDK with persisted: true, and refuses it sending document text', async () => {
      const persisted = createClient({ url: gateways.enforce, persisted: true });
      expect((await persisted.request(TopProductsDocument, { first: 1 })).topProducts).toHaveLength(1);
      expect(await persisted.request(MeDocument)).toEqual({ me: null });
      const error = await createClient({ url: gateways.enforce })
        .request(MeDocument)
        .catch((thrown: unknown) => thrown);
      expect(error).toBeInstanceOf(TesseraRequestError);
      expect((error as TesseraRequestError).codes).toEqual(['PERSISTED_QUERY_REQUIRED']);
    });
  });

  describe("several manifests: ours and a client team's", () => {
    let dir: string;
    /** The client's manifest, as GraphQL Code Generator's client preset writes it, and its one document. */
    let client: { manifest: string; hash: string; text: string };
    const CLIENT_OPERATION = 'query ClientCategories {\n  categories {\n    slug\n    name\n  }\n}\n';

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'tessera-manifests-'));
      await mkdir(join(dir, 'clients'));
      await writeFile(join(dir, 'ClientCategories.graphql'), CLIENT_OPERATION);
      const { generate } = await import('@graphql-codegen/cli');
      const outputs: { filename: string; content: string }[] = await generate(
        {
          schema: join(repoRoot, 'schema.graphql'),
          documents: join(dir, 'ClientCategories.graphql'),
          generates: { [join(dir, 'generated/')]: { preset: 'client', presetConfig: { persistedDocuments: true } } },
          silent: true,
        },
        false,
      );
      const generated = outputs.find(({ filename }) => filename.endsWith('persisted-documents.json'))!;
      const [[key, text]] = Object.entries(JSON.parse(generated.content) as Record<string, string>) as [[string, string]];
      client = { manifest: join(dir, 'clients/shop-app.json'), hash: key.replace('sha256:', ''), text };
      await writeFile(client.manifest, generated.content);
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it("serves the operations of both with enforce, ours and the client's (its manifest in a folder), and refuses others", async () => {
      expect(client.text).toMatch(/^query ClientCategories/);
      const { url } = await supergraph.startGateway({
        responseCache: false,
        trustedDocuments: { mode: 'enforce', manifests: [MANIFEST, join(dir, 'clients')] },
      });
      served(await send(url, byHash(topProducts.hash)));
      const theirs = await send(url, { extensions: { persistedQuery: { version: 1, sha256Hash: client.hash } } });
      served(theirs);
      expect(theirs.body.data.categories).toHaveLength(4);
      served(await send(url, { query: client.text }));
      refused(await send(url, { query: ARBITRARY }), 'PERSISTED_QUERY_REQUIRED');
      refused(await send(url, byHash(sha256(ARBITRARY))), 'PERSISTED_QUERY_NOT_IN_LIST');
      // with our manifest alone, the client's operation is not trusted
      refused(
        await send(gateways.enforce, { extensions: { persistedQuery: { version: 1, sha256Hash: client.hash } } }),
        'PERSISTED_QUERY_NOT_IN_LIST',
      );
    });

    it('stops the gateway at start when two manifests give one hash different documents, naming both files', async () => {
      const conflicting = join(dir, 'conflicting.json');
      await writeFile(conflicting, JSON.stringify({ [`sha256:${topProducts.hash}`]: '{ users(first: 100) { totalCount } }' }));
      const started = supergraph.startGateway({
        responseCache: false,
        trustedDocuments: { mode: 'enforce', manifests: [MANIFEST, join(dir, 'clients'), conflicting] },
      });
      await expect(started).rejects.toThrow(
        `the manifests ${MANIFEST} and ${conflicting} both hold sha256:${topProducts.hash}, with different documents`,
      );
      // the same document in two manifests is no conflict
      const copy = join(dir, 'copy.json');
      await writeFile(copy, JSON.stringify({ [`sha256:${topProducts.hash}`]: topProducts.text }));
      const { url } = await supergraph.startGateway({
        responseCache: false,
        trustedDocuments: { mode: 'enforce', manifests: [MANIFEST, copy] },
      });
      served(await send(url, byHash(topProducts.hash)));
    });

    it('stops the gateway at start on a folder without manifests', async () => {
      await mkdir(join(dir, 'empty'));
      await expect(
        supergraph.startGateway({ responseCache: false, trustedDocuments: { mode: 'enforce', manifests: [MANIFEST, join(dir, 'empty')] } }),
      ).rejects.toThrow(`needs the persisted-documents manifest ${join(dir, 'empty')}, but this folder holds no *.json manifest`);
    });
  });

  describe('a manifest that is not there or not right', () => {
    const inFolder = temporaryFolderForSuite('tessera-trusted-');

    const start = (mode: 'log' | 'enforce', ...manifests: string[]) =>
      supergraph.startGateway({ responseCache: false, trustedDocuments: { mode, manifests } });

    it('stops the gateway at start, saying what is wrong', async () => {
      await expect(start('enforce', inFolder('missing.json'))).rejects.toThrow(
        /TRUSTED_DOCUMENTS=enforce needs the persisted-documents manifest .*missing\.json, but it cannot be read \(ENOENT\)\. Run `npm run codegen`/,
      );
      await writeFile(inFolder('not-json.json'), '{ "sha256:');
      await expect(start('log', inFolder('not-json.json'))).rejects.toThrow(/TRUSTED_DOCUMENTS=log .* it is not JSON/);
      const [key] = Object.keys(manifest);
      await writeFile(inFolder('edited.json'), JSON.stringify({ ...manifest, [key!]: '{ users(first: 100) { totalCount } }' }));
      await expect(start('enforce', inFolder('edited.json'))).rejects.toThrow(`the document of ${key} does not hash to its key`);
      await writeFile(inFolder('empty.json'), '{}');
      await expect(start('enforce', inFolder('empty.json'))).rejects.toThrow('it holds no documents');
    });

    it('is not read when trusted documents are off', async () => {
      const { url } = await supergraph.startGateway({
        responseCache: false,
        trustedDocuments: { mode: 'off', manifests: [inFolder('missing.json')] },
      });
      served(await send(url, { query: ARBITRARY }));
    });
  });
});
