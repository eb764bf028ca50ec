// Which office a request is for, by its host name (issue 19; offices.ts says why a host and not
// a path). A host an office claims is that office's address; every other host is the address of
// the offices without a host of their own (a single-office installation: all of them, unchanged).
// An authenticated request is admitted only at its principal's office's address, so a session or
// API token of one office replayed at another's address is unauthenticated there.
//
// What is cached here is a copy of immutable facts only — an office's host never changes — plus,
// for at most a few seconds, that a host is claimed by no office; login and setup ask the
// database each time. Nothing another instance would need lives only here.
import type { Store } from '../db/connect.ts';
import { normaliseHost } from './offices.ts';

/** Where a request arrived: an office's own address, or the address of the host-less offices. */
export type OfficeAddress = { kind: 'office'; id: string; host: string } | { kind: 'unaddressed' };

const UNCLAIMED_TTL_MS = 5_000;
const MAX_CACHED_HOSTS = 1_000;

export class OfficeAddresses {
  private readonly store: Store;
  /** host → the office claiming it (immutable once claimed), or null (no office) with the time it was asked. */
  private readonly claims = new Map<string, { id: string | null; at: number }>();
  /** office id → its host or null (immutable). */
  private readonly hosts = new Map<string, string | null>();
  constructor(store: Store) {
    this.store = store;
  }

  /** The office whose address `hostname` is. `fresh`: asked of the database, not the cache (login, setup). */
  async at(hostname: string | undefined, fresh = false): Promise<OfficeAddress> {
    const host = normaliseHost(hostname ?? '');
    if (host === null) return { kind: 'unaddressed' };
    const id = await this.claimant(host, fresh);
    return id === null ? { kind: 'unaddressed' } : { kind: 'office', id, host };
  }

  /** Whether an authenticated principal of office `tenantId` may be served at `hostname`. */
  async admits(tenantId: string, hostname: string | undefined): Promise<boolean> {
    const own = await this.hostOf(tenantId);
    const host = normaliseHost(hostname ?? '');
    if (own !== null) return host === own;
    // A host-less office: anywhere no other office claims.
    return host === null || (await this.claimant(host, false)) === null;
  }

  /** The installation's public URL as an office's own address (its links: enrolment, reset). */
  async publicUrl(tenantId: string, installationUrl: string): Promise<string> {
    return addressUrl(installationUrl, await this.hostOf(tenantId));
  }

  private async claimant(host: string, fresh: boolean): Promise<string | null> {
    const now = Date.now();
    const hit = this.claims.get(host);
    if (hit && (hit.id !== null || (!fresh && now - hit.at < UNCLAIMED_TTL_MS))) return hit.id;
    const row = await this.store.db.selectFrom('tenants').select('id').where('host', '=', host).executeTakeFirst();
    // The Host header is the caller's to choose: the cache of unclaimed hosts stays bounded.
    if (this.claims.size >= MAX_CACHED_HOSTS) this.claims.clear();
    this.claims.set(host, { id: row?.id ?? null, at: now });
    if (row) this.hosts.set(row.id, host);
    return row?.id ?? null;
  }

  private async hostOf(tenantId: string): Promise<string | null> {
    const known = this.hosts.get(tenantId);
    if (known !== undefined) return known;
    const row = await this.store.db.selectFrom('tenants').select('host').where('id', '=', tenantId).executeTakeFirst();
    // An unknown office (none should be: a principal names an existing one) is cached as nothing.
    if (!row) return '\u0000unknown';
    this.hosts.set(tenantId, row.host);
    return row.host;
  }
}

/**
 * The installation's public URL at an office's host (scheme, port and path kept), or unchanged
 * where the office has none: the base of its links, redirects and passkeys.
 */
export function addressUrl(installationUrl: string, host: string | null): string {
  if (host === null) return installationUrl;
  const url = new URL(installationUrl);
  url.hostname = host;
  return `${url.origin}${url.pathname.replace(/\/$/, '')}`;
}

/** The host of an address, or null for the address of the host-less offices. */
export const hostAt = (at: OfficeAddress): string | null => (at.kind === 'office' ? at.host : null);

const perStore = new WeakMap<Store, OfficeAddresses>();

/** The one `OfficeAddresses` of a store in this process. */
export function officeAddresses(store: Store): OfficeAddresses {
  const known = perStore.get(store);
  if (known) return known;
  const made = new OfficeAddresses(store);
  perStore.set(store, made);
  return made;
}
