import type { CachedResponse, Lookup, ResponseCacheStore } from './store.js';

interface Stored {
  entry: CachedResponse;
  expiresAt: number;
  /** Its tags, so that removing it also removes it from their index: the index never outgrows the entries. */
  tags: string[];
}

/** The response cache of a single gateway process, for when no Redis is configured. */
export class MemoryResponseCacheStore implements ResponseCacheStore {
  private readonly entries = new Map<string, Stored>();
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
          this.remove(key);
          return null;
        }
        return found.entry;
      }),
    };
  }

  async store(key: string, entry: CachedResponse, tags: string[], epoch: string): Promise<boolean> {
    if (epoch !== String(this.epoch)) return false;
    this.remove(key);
    this.entries.set(key, { entry, expiresAt: entry.storedAt + entry.maxAge * 1000, tags });
    for (const tag of tags) {
      const keys = this.tags.get(tag) ?? new Set<string>();
      keys.add(key);
      this.tags.set(tag, keys);
    }
    // Maps keep insertion order: the first keys are the oldest stored. Expired ones go first
    // too (those no lookup came back for), so the entries kept are live ones where possible.
    const now = Date.now();
    for (const [oldest, { expiresAt }] of this.entries) {
      if (this.entries.size <= this.maxEntries && expiresAt > now) break;
      this.remove(oldest);
    }
    return true;
  }

  async purge(tags: string[]): Promise<void> {
    this.epoch++;
    for (const tag of tags) {
      for (const key of this.tags.get(tag) ?? []) this.remove(key);
    }
  }

  available(): boolean {
    return true;
  }

  /** Entries held, and keys held by the tag index (for tests that check both stay bounded). */
  size(): { entries: number; taggedKeys: number } {
    let taggedKeys = 0;
    for (const keys of this.tags.values()) taggedKeys += keys.size;
    return { entries: this.entries.size, taggedKeys };
  }

  private remove(key: string): void {
    const found = this.entries.get(key);
    if (!found) return;
    this.entries.delete(key);
    for (const tag of found.tags) {
      const keys = this.tags.get(tag);
      keys?.delete(key);
      if (keys?.size === 0) this.tags.delete(tag);
    }
  }
}
