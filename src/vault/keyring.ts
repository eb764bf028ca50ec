// The key hierarchy. A master key in the key directory wraps one key per
// tenant; the tenant key wraps one key per department; a department key wraps
// one key per person, so a person's file can be crypto-shredded by destroying
// one small row. Wrapped keys live in the database; unwrapped ones only in
// memory. Every wrap is bound to its scope and owner like any other field.
// Issue 19: keys — an office's key names the master it is wrapped under (`wrapped_by`,
// a key id), so a master rotation that stopped half-way leaves every key openable;
// the deployment-wide index key outlives a rotation (src/vault/master-rotation.ts).
import { randomBytes, randomUUID } from 'node:crypto';
import type { Tx } from '../db/connect.ts';
import { bindingBytes, DecryptionError, keyVersion, open, seal, sealedVersion, type Binding } from './aead.ts';
import { digest } from './blind-index.ts';
// Issue 19: keys-online
import {
  addPendingVersion,
  DEPARTMENT_KEY_REFRESH_MS,
  type DepartmentKeys,
  loadDepartmentKeys,
  switchToPending,
} from './department-versions.ts';
import { KeyFileError } from './key-file.ts';
// Issue 19: keys
import { derive, derivedIndexKey, keyId, loadMasterKeys, type MasterKeys } from './master-keys.ts';
import { refusal } from '../config/refusal.ts'; // Issue 19: s23-german-cli

// Issue 19: keys — 'department-version': an earlier version of a rotated department key.
export type KeyScope = 'tenant' | 'department' | 'person' | 'department-version';

const now = () => new Date().toISOString();

/**
 * Issue 19: s25-start-files — an office's key this key directory cannot open: its row is gone, or it is
 * wrapped under a master the key directory does not hold. A request answers office-key-unavailable;
 * the start refuses (office-keys-check.ts). A DecryptionError, as an unknown master always was.
 */
export class OfficeKeyUnavailableError extends DecryptionError {}

export { MASTER_KEY_FILE } from './master-keys.ts';

export class Keyring {
  private readonly cache = new Map<string, Buffer>();
  private readonly globalKey: Buffer;

  private readonly master: Buffer;
  private readonly masterId: string;
  private readonly masters = new Map<string, Buffer>();
  private readonly maxCached: number;
  constructor(master: Buffer | MasterKeys, maxCached = 20_000) {
    const keys = Buffer.isBuffer(master) ? { current: master } : master;
    this.master = keys.current;
    this.masterId = keyId(keys.current);
    for (const k of [keys.current, ...(keys.others ?? [])]) this.masters.set(keyId(k), k);
    this.maxCached = maxCached;
    this.globalKey = keys.index ?? derivedIndexKey(keys.current);
  }

  static fromKeyDir(keyDir: string): Keyring {
    const keyring = new Keyring(loadMasterKeys(keyDir));
    keyring.keyDir = keyDir;
    return keyring;
  }

  /** Issue 19: keys — where this keyring's masters came from, to see a rotation that began since. */
  private keyDir: string | undefined;

  /** Deployment-wide blind index (a login names no tenant): login names, client addresses, a login name at an address, ids in audit events that are not ids. */
  globalIndex(kind: 'username' | 'address' | 'login-pair' | 'audit-input', value: string): string {
    return digest(this.globalKey, kind, value.normalize('NFC').toLowerCase());
  }

  /**
   * A linked single sign-on identity: office, issuer, claim name and value, exactly as
   * given (subjects are case-sensitive), so a subject of one office or issuer never matches another's.
   */
  ssoSubjectIndex(tenantId: string, issuer: string, claim: string, value: string): string {
    return digest(this.globalKey, 'sso-subject', JSON.stringify([tenantId, issuer, claim, value]));
  }

  async createTenantKey(tx: Tx, tenantId: string): Promise<void> {
    // Issue 19: keys — a new office's key wrapped under a master that a rotation is about to retire
    // (`kartei offices add` beside `kartei keys rotate-master`) would open under no master once the
    // rotation finished: refused while the key directory holds another master than this one alone.
    if (this.keyDir) {
      const now = loadMasterKeys(this.keyDir, { create: false }); // s25: never a new master here
      if (keyId(now.current) !== this.masterId || (now.others ?? []).length > 0)
        throw new KeyFileError(
          'a master key rotation is under way or finished since this process started: complete it (kartei keys rotate-master), then try again',
          refusal('master-rotation-since-start'),
        );
    }
    await this.create(tx, tenantId, 'tenant', tenantId, this.master, this.masterId);
  }

  async createDepartmentKey(tx: Tx, tenantId: string, departmentId: string): Promise<void> {
    await this.create(tx, tenantId, 'department', departmentId, await this.tenantKey(tx, tenantId));
    this.cache.delete(`department:${departmentId}`); // Issue 19: keys-online — read through departmentKey
  }

  async createPersonKey(tx: Tx, tenantId: string, departmentId: string, personId: string): Promise<void> {
    await this.create(tx, tenantId, 'person', personId, await this.departmentKey(tx, tenantId, departmentId));
  }

  tenantKey(tx: Tx, tenantId: string): Promise<Buffer> {
    return this.unwrap(tx, tenantId, 'tenant', tenantId, async (by) => this.masterFor(by));
  }

  /** Issue 19: keys — the master a row names (none: the current one); one the key directory lacks opens nothing. */
  masterFor(id: string | null): Buffer {
    if (id === null) return this.master;
    const key = this.masters.get(id);
    if (!key) throw new OfficeKeyUnavailableError(`wrapped under master key ${id}, which is not in the key directory`);
    return key;
  }

  /**
   * The department's current key (every version of it known for opening). Issue 19: keys-online —
   * kept at most `DEPARTMENT_KEY_REFRESH_MS`, then its rows are looked at again (one query), so a
   * rotation by another process reaches this one within that time (src/vault/department-versions.ts).
   */
  async departmentKey(tx: Tx, tenantId: string, departmentId: string): Promise<Buffer> {
    const known = this.departments.get(departmentId);
    if (known && Date.now() - known.checkedAt < this.refreshMs) return known.current;
    const keys = await loadDepartmentKeys(tx, tenantId, departmentId, () => this.tenantKey(tx, tenantId), known);
    this.departments.set(departmentId, keys);
    return keys.current;
  }

  // Issue 19: keys-online
  private readonly departments = new Map<string, DepartmentKeys>();
  /** How long a department key is used without looking whether it rotated (tests set less). */
  refreshMs = DEPARTMENT_KEY_REFRESH_MS;

  personKey(tx: Tx, tenantId: string, departmentId: string, personId: string): Promise<Buffer> {
    return this.unwrap(tx, tenantId, 'person', personId, () => this.departmentKey(tx, tenantId, departmentId));
  }

  /** Unwraps the keys of many persons with one query (search results). */
  async preloadPersonKeys(
    tx: Tx,
    tenantId: string,
    files: { departmentId: string; personId: string }[],
  ): Promise<void> {
    const missing = files.filter((f) => !this.cache.has(`person:${f.personId}`));
    if (missing.length === 0) return;
    const rows = await tx
      .selectFrom('data_keys')
      .select(['owner_id', 'wrapped'])
      .where('scope', '=', 'person')
      .where('tenant_id', '=', tenantId)
      .where('destroyed_at', 'is', null)
      .where(
        'owner_id',
        'in',
        missing.map((f) => f.personId),
      )
      .execute();
    const deptOf = new Map(missing.map((f) => [f.personId, f.departmentId]));
    for (const row of rows) {
      this.adopt(
        tenantId,
        'person',
        row.owner_id,
        await this.departmentKey(tx, tenantId, deptOf.get(row.owner_id)!),
        row.wrapped,
      );
    }
  }

  /** The tenant's blind-index key, derived so that it never encrypts anything. */
  async indexKey(tx: Tx, tenantId: string): Promise<Buffer> {
    return derive(await this.tenantKey(tx, tenantId), 'kartei/blind-index');
  }

  private async create(
    tx: Tx,
    tenantId: string,
    scope: KeyScope,
    ownerId: string,
    parent: Buffer,
    wrappedBy: string | null = null,
  ) {
    const key = randomBytes(32);
    const wrapped = seal(parent, key, bindingBytes(wrapBinding(tenantId, scope, ownerId)));
    await tx
      .insertInto('data_keys')
      .values({
        id: randomUUID(),
        tenant_id: tenantId,
        scope,
        owner_id: ownerId,
        wrapped,
        created_at: now(),
        destroyed_at: null,
        wrapped_by: wrappedBy,
        key_version: null,
      })
      .execute();
    this.remember(`${scope}:${ownerId}`, key);
  }

  private async unwrap(
    tx: Tx,
    tenantId: string,
    scope: KeyScope,
    ownerId: string,
    parent: (wrappedBy: string | null) => Promise<Buffer>,
  ) {
    const id = `${scope}:${ownerId}`;
    const hit = this.cache.get(id);
    if (hit) return hit;
    const row = await tx
      .selectFrom('data_keys')
      .select(['wrapped', 'destroyed_at', 'wrapped_by'])
      .where('scope', '=', scope)
      .where('owner_id', '=', ownerId)
      .where('tenant_id', '=', tenantId)
      .executeTakeFirst();
    // Issue 19: s25-start-files — an office's key gone, or not opening under this key directory's master.
    if (scope === 'tenant' && (!row || row.destroyed_at))
      throw new OfficeKeyUnavailableError(`no office key for ${ownerId}`);
    if (!row || row.destroyed_at) throw new Error(`no ${scope} key for ${ownerId}`);
    const parentKey = await parent(row.wrapped_by);
    let key: Buffer;
    try {
      key = open(parentKey, row.wrapped, bindingBytes(wrapBinding(tenantId, scope, ownerId)));
    } catch (e) {
      if (scope === 'tenant' && e instanceof DecryptionError && !(e instanceof OfficeKeyUnavailableError))
        throw new OfficeKeyUnavailableError(
          `the office key of ${ownerId} does not open under this key directory's master`,
        );
      throw e;
    }
    this.remember(id, key);
    return key;
  }

  /**
   * Issue 19: keys — a new key for the department in one step (in the caller's transaction): what
   * is sealed with it from now on is sealed under the new version; every earlier version stays, so
   * everything sealed before still opens. Only where no other process uses the department's key
   * meanwhile (tests, a stopped server): a running one is rotated in two steps,
   * `addPendingDepartmentKey`, then after `refreshMs` `switchDepartmentKey`.
   */
  async rotateDepartmentKey(tx: Tx, tenantId: string, departmentId: string): Promise<{ from: number; to: number }> {
    await this.addPendingDepartmentKey(tx, tenantId, departmentId);
    return this.switchDepartmentKey(tx, tenantId, departmentId);
  }

  /** Issue 19: keys-online — a version every instance opens from its next look on; not yet sealed under. */
  async addPendingDepartmentKey(tx: Tx, tenantId: string, departmentId: string): Promise<{ from: number; to: number }> {
    const r = await addPendingVersion(tx, tenantId, departmentId, await this.tenantKey(tx, tenantId));
    this.departments.delete(departmentId);
    return r;
  }

  /** Issue 19: keys-online — the pending version becomes the one new data is sealed under. */
  async switchDepartmentKey(tx: Tx, tenantId: string, departmentId: string): Promise<{ from: number; to: number }> {
    const r = await switchToPending(tx, tenantId, departmentId, await this.tenantKey(tx, tenantId));
    // Looked at again at the next use, once this transaction has committed (or not, if it rolls back).
    this.departments.delete(departmentId);
    return r;
  }

  /**
   * Issue 19: keys — after a department key rotation: re-wraps up to `limit` of its persons' keys
   * still wrapped under an earlier version, in the caller's transaction; says how many are left.
   * Run again (each batch committed) it goes on where it stopped.
   */
  async rewrapPersonKeys(
    tx: Tx,
    tenantId: string,
    departmentId: string,
    limit: number,
  ): Promise<{ rewrapped: number; left: number; total: number; version: number }> {
    const dept = await this.departmentKey(tx, tenantId, departmentId);
    const version = keyVersion(dept);
    const rows = await tx
      .selectFrom('data_keys')
      .innerJoin('persons', 'persons.id', 'data_keys.owner_id')
      .select(['data_keys.id', 'data_keys.owner_id', 'data_keys.wrapped'])
      .where('data_keys.tenant_id', '=', tenantId)
      .where('data_keys.scope', '=', 'person')
      .where('data_keys.destroyed_at', 'is', null)
      .where('persons.tenant_id', '=', tenantId)
      .where('persons.department_id', '=', departmentId)
      .execute();
    const stale = rows.filter((r) => sealedVersion(r.wrapped) !== version);
    const batch = stale.slice(0, limit);
    for (const r of batch) {
      const binding = bindingBytes(wrapBinding(tenantId, 'person', r.owner_id));
      // Issue 19: keys-online — only the wrap that was read: a key destroyed meanwhile stays destroyed.
      await tx
        .updateTable('data_keys')
        .set({ wrapped: seal(dept, open(dept, r.wrapped, binding), binding) })
        .where('id', '=', r.id)
        .where('wrapped', '=', r.wrapped)
        .where('destroyed_at', 'is', null)
        .execute();
    }
    return { rewrapped: batch.length, left: stale.length - batch.length, total: rows.length, version };
  }

  /** Unwraps a stored key under its parent and keeps it in memory. */
  private adopt(tenantId: string, scope: KeyScope, ownerId: string, parent: Buffer, wrapped: Buffer): Buffer {
    const key = open(parent, wrapped, bindingBytes(wrapBinding(tenantId, scope, ownerId)));
    this.remember(`${scope}:${ownerId}`, key);
    return key;
  }

  private remember(id: string, key: Buffer) {
    if (this.cache.size >= this.maxCached) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(id, key);
  }
}

export const wrapBinding = (tenantId: string, scope: KeyScope, ownerId: string): Binding => ({
  tenantId,
  table: 'data_keys',
  rowId: `${scope}:${ownerId}`,
  field: 'wrapped',
});

/** Encrypts and decrypts one field under a given key, bound to where it is stored. */
export const sealField = (key: Buffer, b: Binding, value: unknown): Buffer =>
  seal(key, Buffer.from(JSON.stringify(value), 'utf8'), bindingBytes(b));

export const openField = <T>(key: Buffer, b: Binding, blob: Buffer): T =>
  JSON.parse(open(key, blob, bindingBytes(b)).toString('utf8')) as T;
