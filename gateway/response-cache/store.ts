/** A cached GraphQL result and the policy it was stored under. */
export interface CachedResponse {
  data: Record<string, unknown>;
  storedAt: number;
  maxAge: number;
  scope: 'PUBLIC' | 'PRIVATE';
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
