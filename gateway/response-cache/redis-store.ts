import type { RedisClient } from '../../shared/redis/redis.js';
import type { CachedResponse, Lookup, ResponseCacheStore } from './store.js';

const NEWLINE = 0x0a;

/**
 * An entry as Redis holds it: its policy and charge as one line of JSON, then the body's bytes
 * as they are sent, so a hit reads the body without parsing or copying it.
 */
function encode({ body, ...rest }: CachedResponse): Buffer {
  return Buffer.concat([Buffer.from(`${JSON.stringify(rest)}\n`), body]);
}

function decode(value: Buffer): CachedResponse {
  // JSON.stringify writes a newline inside a string as `\n`: the first newline ends the line.
  const end = value.indexOf(NEWLINE);
  return { ...(JSON.parse(value.subarray(0, end).toString()) as Omit<CachedResponse, 'body'>), body: value.subarray(end + 1) };
}

/**
 * Every key of the response cache shares the hash tag `{response-cache}`: on Redis Cluster
 * they live in one slot, so the store and purge scripts stay atomic. (The price: the response
 * cache lives on one shard.)
 */
export function responseCacheKeys(prefix: string) {
  const base = `${prefix}{response-cache}:`;
  return {
    epoch: `${base}epoch`,
    // `r2:`: entries hold the body as sent (`encode`). The `r:` entries of the version before held
    // the data as JSON; none is read, and each goes by its TTL or with a purge of its tags.
    response: (key: string) => `${base}r2:${key}`,
    tag: (tag: string) => `${base}t:${tag}`,
  };
}

/**
 * A tag is a sorted set of response keys scored by when each expires (ms, Redis's clock).
 * Every store drops the members already expired: a tag renewed by new entries keeps only
 * live ones, so its size stays bounded by the entries alive under it. A plain set left by
 * an older version is turned into one on first touch (its members scored by their own TTL).
 */
const TAG_SET = `
local function now_ms()
  local time = redis.call('TIME')
  return tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end
local function as_sorted_set(tag, now)
  if redis.call('TYPE', tag).ok ~= 'set' then return end
  local members = redis.call('SMEMBERS', tag)
  redis.call('DEL', tag)
  for _, key in ipairs(members) do
    local ttl = redis.call('PTTL', key)
    if ttl > 0 then redis.call('ZADD', tag, now + ttl, key) end
  end
end
local function members(tag)
  if redis.call('TYPE', tag).ok == 'set' then return redis.call('SMEMBERS', tag) end
  return redis.call('ZRANGE', tag, 0, -1)
end
`;

// KEYS: epoch, response, tags…  ARGV: expected epoch, value, ttl seconds
const STORE = `${TAG_SET}
if (redis.call('GET', KEYS[1]) or '0') ~= ARGV[1] then return 0 end
local ttl = tonumber(ARGV[3])
local now = now_ms()
redis.call('SET', KEYS[2], ARGV[2], 'EX', ttl)
for i = 3, #KEYS do
  as_sorted_set(KEYS[i], now)
  redis.call('ZADD', KEYS[i], now + ttl * 1000, KEYS[2])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now)
  if redis.call('TTL', KEYS[i]) < ttl then redis.call('EXPIRE', KEYS[i], ttl) end
end
return 1`;

// KEYS: epoch, tags…
const PURGE = `${TAG_SET}
redis.call('INCR', KEYS[1])
local removed = 0
for i = 2, #KEYS do
  for _, key in ipairs(members(KEYS[i])) do removed = removed + redis.call('DEL', key) end
  redis.call('DEL', KEYS[i])
end
return removed`;

/**
 * The response cache in Redis, shared by every gateway replica. A purge that fails (Redis
 * away) is remembered and retried as soon as Redis is back; until then the store reports
 * itself unavailable, so nothing it may still hold is served.
 */
export class RedisResponseCacheStore implements ResponseCacheStore {
  private readonly keys: ReturnType<typeof responseCacheKeys>;
  private readonly owedPurges = new Set<string>();
  private settling: Promise<void> | undefined;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
  ) {
    this.keys = responseCacheKeys(prefix);
    redis.on('ready', () => void this.settleOwedPurges().catch(() => undefined));
  }

  async lookup(keys: string[]): Promise<Lookup> {
    const [epoch, ...values] = await this.redis.mgetBuffer(this.keys.epoch, ...keys.map(this.keys.response));
    return { epoch: epoch?.toString() ?? '0', entries: values.map((value) => (value ? decode(value) : null)) };
  }

  async store(key: string, entry: CachedResponse, tags: string[], epoch: string): Promise<boolean> {
    const keys = [this.keys.epoch, this.keys.response(key), ...tags.map(this.keys.tag)];
    const stored = await this.redis.eval(STORE, keys.length, ...keys, epoch, encode(entry), String(entry.maxAge));
    return stored === 1;
  }

  async purge(tags: string[]): Promise<void> {
    for (const tag of tags) this.owedPurges.add(tag);
    await this.settleOwedPurges();
  }

  available(): boolean {
    if (this.redis.status !== 'ready') return false;
    // A purge can be owed with the connection up (Redis stalled rather than gone): retry it now.
    if (this.owedPurges.size) void this.settleOwedPurges().catch(() => undefined);
    return this.owedPurges.size === 0;
  }

  /** One settlement at a time; tags owed meanwhile wait for the next. */
  private settleOwedPurges(): Promise<void> {
    // `.finally` runs after the assignment, so a settlement that ends at once still clears it.
    this.settling ??= this.purgeOwed().finally(() => {
      this.settling = undefined;
    });
    return this.settling;
  }

  private async purgeOwed(): Promise<void> {
    const tags = [...this.owedPurges];
    if (!tags.length) return;
    const keys = [this.keys.epoch, ...tags.map(this.keys.tag)];
    await this.redis.eval(PURGE, keys.length, ...keys);
    for (const tag of tags) this.owedPurges.delete(tag);
  }
}
