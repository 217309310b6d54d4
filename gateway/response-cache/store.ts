/** What the rate limit charges for an answer, learnt when it was computed: a hit is charged as its miss was. */
export interface CachedCharge {
  /** The operation's name as the document gives it (the per-operation limits' key), or null. */
  operationName: string | null;
  /** The cost step's estimate (what `RATE_LIMIT_CHARGE_BY=cost` charges). */
  cost: number;
  /** Root fields (`Query.login`) and how many times each runs. */
  rootFields: [field: string, runs: number][];
}

/** A cached GraphQL answer: its body as sent, the policy it was stored under, and what a hit is charged. */
export interface CachedResponse {
  /** The response body exactly as Apollo Server sent it (`{"data":…,"extensions":…}` and a newline), UTF-8. */
  body: Buffer;
  /** The body's weak ETag as Express computes it (`W/"<length>-<sha1>"`), once, rather than at every hit. */
  entityTag: string;
  storedAt: number;
  maxAge: number;
  scope: 'PUBLIC' | 'PRIVATE';
  charge: CachedCharge;
}

export interface Lookup {
  /** One per key asked, in order; null for a miss. */
  entries: (CachedResponse | null)[];
  /** Purge generation when looked up: a result computed from here is stored only if no purge came between. */
  epoch: string;
}

/**
 * Where the gateway's response cache keeps responses and their entity tags. A purge removes
 * every response carrying any of the tags and advances the epoch, so a response computed
 * while the purge ran (from data read before it) is never stored: no stale entry can outlive
 * a write.
 */
export interface ResponseCacheStore {
  lookup(keys: string[]): Promise<Lookup>;
  /** Stores unless the epoch moved since `epoch`; says whether it did. */
  store(key: string, entry: CachedResponse, tags: string[], epoch: string): Promise<boolean>;
  purge(tags: string[]): Promise<void>;
  /** False while the store cannot be trusted (its backend is down, or a purge is owed). */
  available(): boolean;
}
