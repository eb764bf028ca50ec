// Keeps the principal of a session or API token between requests (issue 18: the session's lookup, a join of
// four tables through Kysely's executor, was ~8 % of a gated read's main thread on SQLite). An entry holds only
// while the principal version (migration 042) is the value read before its lookup: any change to users, roles,
// memberships, sessions or tokens — by this server, the command line or any statement — sets that value anew,
// so a revocation, a deactivation or a removed role holds from the next request on, as without the cache. Each
// request still has the version read after it arrived: the requests of one turn of the event loop share one read,
// taken once all of them have asked (`askedThisTurn`; a read is a read transaction of its own, ~5 µs under load).
// Expiry, idle time and the touch stay with the caller, checked on every request. SQLite only: on PostgreSQL
// several instances write, and reading the version would cost the round trip the lookup costs.
import type { Principal } from '../access/policy.ts';

export interface CachedPrincipal {
  /** The principal version read before the lookup that made this entry. */
  version: bigint;
  principal: Principal;
  csrfHash: string | null;
  /** ms since the epoch. */
  expiresAt: number;
  /** The last touch (`last_seen_at` / `last_used_at`) known here, ms since the epoch; 0 if never. */
  touchedAt: number;
}

/** What a lookup of a session or token found; the cache adds the version it was looked up under. */
export type LookedUp = Omit<CachedPrincipal, 'version'>;

/**
 * The principal behind a credential: kept under `key` (the kind of credential with its hash, `session:…` or
 * `api-token:…`: one kind's entry never answers for the other) while the version holds, else looked up by `load`
 * (null: no such live credential) — with the version read before `load`, so a change made during it is never kept
 * under a newer version. Without a cache (PostgreSQL), `load` every time. The one place that order is kept.
 */
export async function principalOf(
  cache: PrincipalCache | undefined,
  key: string,
  load: () => Promise<LookedUp | null>,
): Promise<CachedPrincipal | null> {
  if (cache) return cache.lookUp(key, load);
  const found = await load();
  return found && { ...found, principal: frozenPrincipal(found.principal), version: 0n };
}

/** A principal that requests share may not be changed by one of them. */
export function frozenPrincipal(p: Principal): Principal {
  for (const m of p.memberships) Object.freeze(m);
  Object.freeze(p.memberships);
  Object.freeze(p.tenantRoles);
  if (p.token) Object.freeze(p.token.scopes);
  if (p.token) Object.freeze(p.token);
  return Object.freeze(p);
}

export class PrincipalCache {
  private readonly entries = new Map<string, CachedPrincipal>();
  private latest: bigint | undefined;
  private readonly read: () => bigint;
  private readonly max: number;
  /** The read the callers of this turn wait for, until it is taken. */
  private asked: Promise<bigint | undefined> | undefined;

  constructor(read: () => bigint, max = 10_000) {
    this.read = read;
    this.max = max;
  }

  /**
   * The version now: read it before a lookup whose result `keep` is to store. Undefined if it cannot be read
   * (the connection busy with a statement of its own): then nothing is taken from the cache or kept.
   */
  version(): bigint | undefined {
    let v: bigint;
    try {
      v = this.read();
    } catch {
      this.entries.clear();
      this.latest = undefined;
      return undefined;
    }
    if (v !== this.latest) {
      // Every entry is of an older version: none can be used again.
      this.entries.clear();
      this.latest = v;
    }
    return v;
  }

  /** The entry for a key if nothing a principal is made of has changed since its lookup. */
  get(key: string): CachedPrincipal | undefined {
    return this.entries.has(key) ? this.holding(key, this.version()) : undefined;
  }

  /**
   * The version read after the caller asked, shared with every caller that asks in the same turn of the event
   * loop: the read is taken in that turn's check phase (`setImmediate`), after all of them have asked — so a
   * request is never judged by a version read before it arrived, as with a read of its own (issue 18: the read's
   * transaction was ~7 % of a gated read's main thread). A caller asking after the read was taken waits for the next.
   */
  askedThisTurn(): Promise<bigint | undefined> {
    if (!this.asked) {
      this.asked = new Promise((resolve) =>
        setImmediate(() => {
          this.asked = undefined;
          resolve(this.version());
        }),
      );
    }
    return this.asked;
  }

  /** `principalOf` with this cache: one read of the version serves the check and, on a miss, the lookup. */
  async lookUp(key: string, load: () => Promise<LookedUp | null>): Promise<CachedPrincipal | null> {
    const version = await this.askedThisTurn();
    const kept = this.holding(key, version);
    if (kept) return kept;
    const found = await load();
    if (!found) return null;
    const e = { ...found, principal: frozenPrincipal(found.principal), version: version ?? 0n };
    if (version !== undefined) this.keep(key, e);
    return e;
  }

  private holding(key: string, version: bigint | undefined): CachedPrincipal | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (version !== undefined && e.version === version) return e;
    this.entries.delete(key);
    return undefined;
  }

  keep(key: string, e: CachedPrincipal): void {
    if (this.latest === undefined || e.version !== this.latest) return;
    if (this.entries.size >= this.max && !this.entries.has(key)) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(key, e);
  }

  forget(key: string): void {
    this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }
}
