import type { CachedResponse, Lookup, ResponseCacheStore } from './store.js';

/** The response cache of a single gateway process, for when no Redis is configured. */
export class MemoryResponseCacheStore implements ResponseCacheStore {
  private readonly entries = new Map<string, { entry: CachedResponse; expiresAt: number }>();
  private readonly tags = new Map<string, Set<string>>();
  private epoch = 0;

  constructor(private readonly maxEntries: number) {}

  async lookup(keys: string[]): Promise<Lookup> {
    const now = Date.now();
    return {
      epoch: String(this.epoch),
      entries: keys.map((key) => {
        const found = this.entries.get(key);
        if (!found) return null;
        if (found.expiresAt <= now) {
          this.entries.delete(key);
          return null;
        }
        return found.entry;
      }),
    };
  }

  async store(key: string, entry: CachedResponse, tags: string[], epoch: string): Promise<boolean> {
    if (epoch !== String(this.epoch)) return false;
    this.entries.delete(key);
    this.entries.set(key, { entry, expiresAt: entry.storedAt + entry.maxAge * 1000 });
    for (const tag of tags) {
      const keys = this.tags.get(tag) ?? new Set<string>();
      keys.add(key);
      this.tags.set(tag, keys);
    }
    // Maps keep insertion order: the first keys are the oldest stored.
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= this.maxEntries) break;
      this.entries.delete(oldest);
    }
    return true;
  }

  async purge(tags: string[]): Promise<void> {
    this.epoch++;
    for (const tag of tags) {
      for (const key of this.tags.get(tag) ?? []) this.entries.delete(key);
      this.tags.delete(tag);
    }
  }

  available(): boolean {
    return true;
  }
}
