import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Request, RequestHandler } from 'express';
import { parse } from 'graphql';
import type { TrustedDocumentsConfig } from '../../shared/config/config.js';
import { ErrorCode, sendError, TesseraError } from '../../shared/errors/errors.js';
import { requestScope } from '../../shared/http/request-scope.js';
import type { Logger } from '../../shared/observability/logger.js';

/** The manifest's documents by the hex sha256 of their text (what Apollo's `persistedQuery.sha256Hash` carries). */
type TrustedDocuments = ReadonlyMap<string, string>;

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** One manifest file's entries, keyed by hex hash, before they are checked. */
type ManifestEntries = Map<string, { key: string; document: string }>;

/**
 * Reads the persisted-documents manifests codegen writes (`{ "sha256:<hex>": "<document>" }`;
 * plain hex keys are accepted too): each of `manifests` is a file, or a folder whose `*.json`
 * files are manifests, and the gateway trusts their union, so client teams' generated
 * manifests sit beside ours. Every entry must hash to its key and parse, and a hash may name
 * only one document across manifests, so a manifest that is missing, edited by hand,
 * truncated or at odds with another stops the gateway at start, with a message saying what
 * is wrong and where, rather than refusing requests later.
 */
export async function loadTrustedDocuments({ mode, manifests }: TrustedDocumentsConfig): Promise<TrustedDocuments> {
  const fail = (manifest: string, problem: string) =>
    new Error(
      `TRUSTED_DOCUMENTS=${mode} needs the persisted-documents manifest ${manifest}, but ${problem}. Run \`npm run codegen\`, or point TRUSTED_DOCUMENTS_MANIFEST at the manifests.`,
    );
  const files: string[] = [];
  for (const manifest of manifests) {
    let folder: boolean;
    try {
      folder = (await stat(manifest)).isDirectory();
    } catch (error) {
      throw fail(manifest, `it cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
    if (!folder) {
      files.push(manifest);
      continue;
    }
    const inFolder = (await readdir(manifest)).filter((name) => name.endsWith('.json')).sort();
    if (!inFolder.length) throw fail(manifest, 'this folder holds no *.json manifest');
    files.push(...inFolder.map((name) => join(manifest, name)));
  }

  const documents = new Map<string, string>();
  const sourceOf = new Map<string, string>();
  for (const file of files) {
    for (const [hash, { key, document }] of await readManifest(file, (problem) => fail(file, problem))) {
      const earlier = sourceOf.get(hash);
      if (earlier !== undefined && documents.get(hash) !== document) {
        throw new Error(
          `TRUSTED_DOCUMENTS=${mode}: the manifests ${earlier} and ${file} both hold ${key}, with different documents; a hash names one document. Regenerate the manifest that is wrong.`,
        );
      }
      if (sha256(document) !== hash) throw fail(file, `the document of ${key} does not hash to its key`);
      try {
        parse(document);
      } catch (error) {
        throw fail(file, `the document of ${key} does not parse (${(error as Error).message})`);
      }
      documents.set(hash, document);
      sourceOf.set(hash, file);
    }
  }
  return documents;
}

/** A manifest file's entries, checked for shape only: hashes are checked once conflicts are known. */
async function readManifest(file: string, fail: (problem: string) => Error): Promise<ManifestEntries> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw fail(`it cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  let manifest: unknown;
  try {
    manifest = JSON.parse(text);
  } catch {
    throw fail('it is not JSON');
  }
  if (typeof manifest !== 'object' || manifest === null || Array.isArray(manifest)) throw fail('it is not an object of hash → document');
  const entries: ManifestEntries = new Map();
  for (const [key, document] of Object.entries(manifest)) {
    const hash = /^(?:sha256:)?([0-9a-f]{64})$/.exec(key)?.[1];
    if (!hash) throw fail(`its key "${key}" is not a sha256 hash`);
    if (typeof document !== 'string') throw fail(`the entry ${key} is not a document string`);
    entries.set(hash, { key, document });
  }
  if (!entries.size) throw fail('it holds no documents');
  return entries;
}

interface TrustedDocumentsGuardOptions {
  /** `log`: serve untrusted documents and log a warning for each. `enforce`: refuse them. */
  mode: 'log' | 'enforce';
  documents: TrustedDocuments;
  logger: Logger;
}

/** What a request names: a trusted document, or why it is not one. */
type Verdict = { trusted: true; document?: string } | { trusted: false; refusal: TesseraError } | { trusted: undefined };

interface OperationFields {
  query?: unknown;
  operationName?: unknown;
  extensions?: { persistedQuery?: { sha256Hash?: unknown } };
}

function judge(operation: OperationFields, documents: TrustedDocuments): Verdict {
  const { query, operationName } = operation;
  const hash = operation.extensions?.persistedQuery?.sha256Hash;
  if (typeof query === 'string' && query) {
    // The text itself must be a manifest entry, exactly; a hash sent alongside it (an APQ
    // registration) has been checked against the text already (gateway/persisted-documents/apq-guard.ts).
    if (documents.get(sha256(query)) === query) return { trusted: true };
    const message =
      'This gateway serves only trusted documents: send the sha256 hash of an operation of its persisted-documents manifest in extensions.persistedQuery.sha256Hash (the SDK does with `persisted: true`), or exactly its text.';
    return { trusted: false, refusal: new TesseraError(message, ErrorCode.PERSISTED_QUERY_REQUIRED) };
  }
  if (typeof hash === 'string') {
    const document = documents.get(hash);
    if (document) return { trusted: true, document };
    const refusal = new TesseraError(
      `Persisted query '${hash}' is not in this gateway's persisted-documents manifest.`,
      ErrorCode.PERSISTED_QUERY_NOT_IN_LIST,
      {
        extensions: typeof operationName === 'string' ? { operationName } : {},
      },
    );
    return { trusted: false, refusal };
  }
  return { trusted: undefined }; // no document at all: Apollo Server says what is missing
}

/** A GET request's operation, from its query string (Apollo Server reads the URL itself). */
function fromSearch(req: Request): { params: URLSearchParams; operation: OperationFields } {
  const params = new URLSearchParams(req.url.split('?')[1] ?? '');
  let extensions: OperationFields['extensions'];
  try {
    extensions = JSON.parse(params.get('extensions') ?? 'null') ?? undefined;
  } catch {
    // not JSON: Apollo Server refuses it
  }
  return {
    params,
    operation: { query: params.get('query') ?? undefined, operationName: params.get('operationName') ?? undefined, extensions },
  };
}

/**
 * Trusted documents: with `enforce`, only the operations of the persisted-documents manifest
 * run, named by their hash (`extensions.persistedQuery.sha256Hash`, Apollo's format) or sent
 * as their exact text; anything else is refused with 400 `PERSISTED_QUERY_REQUIRED`, and a
 * hash not in the manifest with 400 `PERSISTED_QUERY_NOT_IN_LIST` (Apollo Router's code), so
 * no subgraph is ever asked. With `log`, everything is served and untrusted documents are
 * logged, to see what would be refused before enforcing.
 *
 * It sits in front of Apollo Server (Express middleware after the body parser), not in its
 * request pipeline, because that pipeline has no hook that can refuse before parsing: an
 * error thrown from `requestDidStart`, `didResolveSource` or `parsingDidStart` becomes a 500
 * "Internal server error", and the first hook whose error reaches the client,
 * `didResolveOperation`, runs only after the untrusted document was parsed and validated
 * against the schema (answering with validation messages that describe it). Being in front
 * also keeps automatic persisted queries from working around it: a hash the manifest lacks
 * is refused before Apollo Server's APQ cache is consulted, and registering a new document
 * means sending its text, which is refused. A manifest hash sent alone is replaced by its
 * document (and the APQ extension dropped), so Apollo Server runs it without its APQ cache.
 */
export function trustedDocumentsGuard({ mode, documents, logger }: TrustedDocumentsGuardOptions): RequestHandler {
  logger.info({ trustedDocuments: mode, documents: documents.size }, 'trusted documents loaded');
  return (req, res, next) => {
    const fromUrl = req.method === 'GET' ? fromSearch(req) : undefined;
    const body: unknown = req.body;
    const operations = (fromUrl ? [fromUrl.operation] : Array.isArray(body) ? body : [body]).filter(
      (operation): operation is OperationFields => typeof operation === 'object' && operation !== null,
    );
    const verdicts = operations.map((operation) => judge(operation, documents));
    const untrusted = verdicts.flatMap((verdict, i) => (verdict.trusted === false ? [{ verdict, operation: operations[i]! }] : []));
    const requestLogger = requestScope().logger;
    for (const { verdict, operation } of untrusted) {
      const entry = {
        trustedDocuments: mode,
        code: verdict.refusal.code,
        operationName: typeof operation.operationName === 'string' ? operation.operationName : null,
        documentHash: typeof operation.query === 'string' ? sha256(operation.query) : operation.extensions?.persistedQuery?.sha256Hash,
      };
      if (mode === 'log') requestLogger.warn(entry, 'untrusted document served');
      else requestLogger.info(entry, 'untrusted document refused');
    }
    const refusal = mode === 'enforce' ? untrusted[0]?.verdict.refusal : undefined;
    if (refusal) return sendError(res, refusal);
    verdicts.forEach((verdict, i) => {
      if (!verdict.trusted || verdict.document === undefined) return;
      const operation = operations[i]!;
      operation.query = verdict.document;
      delete operation.extensions!.persistedQuery;
      if (fromUrl) {
        fromUrl.params.set('query', verdict.document);
        fromUrl.params.set('extensions', JSON.stringify(operation.extensions));
        req.url = `${req.url.split('?')[0]}?${fromUrl.params}`;
      }
    });
    next();
  };
}
