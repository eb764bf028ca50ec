// First run. No account exists until someone presents the one-time token the
// server printed and wrote (0600) into the data directory. The token expires
// after 24 hours and is spent only by a setup that succeeds.
// Issue 19: offices — an office the operator added (offices.ts) has a token of its
// own; it makes that office's first administrator, and only at that office's address.
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { inTenantTransaction, serialise, type Store, type Tx } from '../db/connect.ts';
import { liveInstanceIds } from '../db/instances.ts';
import { DEPLOYMENT_CHAIN } from '../db/schema.ts';
import { KarteiError } from '../errors.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { Keyring } from '../vault/keyring.ts';
import { newToken, sameHash, tokenHash } from './tokens.ts';
import { insertUser } from './users.ts';
import type { OfficeAddress } from './office-address.ts';
import { assertStrongPassword } from './passwords.ts';

export const SETUP_TOKEN_FILE = 'setup-token';
const SETUP_TTL_MS = 24 * 3_600_000;

export async function isSetUp(store: Store): Promise<boolean> {
  return (await store.db.selectFrom('tenants').select('id').limit(1).executeTakeFirst()) !== undefined;
}

/** Issues a fresh setup token if nobody has set this installation up; returns it, or null. */
export async function issueSetupToken(store: Store, dataDir: string): Promise<string | null> {
  if (await isSetUp(store)) return null;
  const token = newToken();
  // Durable before the link is shown: through the group committer on SQLite.
  await inTenantTransaction(store, DEPLOYMENT_CHAIN, (tx) => writeSetupToken(tx, token, null, Date.now()));
  writeTokenFile(dataDir, token);
  return token;
}

// Issue 19: instances — one setup link however many instances start together.
/** What a starting instance's claim of the setup link came to. */
export type SetupClaim =
  | { token: string }
  /** Another live instance printed the link (still valid): where, and since when it runs. */
  | { printedBy: { host: string; pid: number; startedAt: string } }
  /** Set up already: no link. */
  | null;

/**
 * Issue 19: instances. The setup link of a starting server, claimed in the database so that of any
 * number of instances starting together exactly one prints a link: under a transaction-scoped lock
 * (PostgreSQL; SQLite has one writer), the token is issued anew unless a live instance of another data
 * directory issued one that is still valid — then this instance says who has it. An instance that
 * stopped, or whose heartbeat stopped (src/db/instances.ts), holds no link: the next start issues a new
 * one (and the old one stops working), as a restart of one server always did.
 */
export async function claimSetupToken(
  store: Store,
  dataDir: string,
  me: { id: string; dataDirId: string },
  now = Date.now(),
): Promise<SetupClaim> {
  const token = newToken();
  const claim = await inTenantTransaction(store, DEPLOYMENT_CHAIN, async (tx): Promise<SetupClaim> => {
    await serialise(tx, SETUP_CLAIM_LOCK);
    if (await tx.selectFrom('tenants').select('id').limit(1).executeTakeFirst()) return null;
    const row = await tx
      .selectFrom('setup_token')
      .select(['expires_at', 'used_at', 'issued_by'])
      .where('id', '=', 1)
      .executeTakeFirst();
    if (row?.issued_by && row.issued_by !== me.id && !row.used_at && Date.parse(row.expires_at) > now) {
      const holder = await tx
        .selectFrom('server_instances')
        .select(['host', 'pid', 'started_at'])
        .where('id', '=', row.issued_by)
        .where('id', 'in', liveInstanceIds(tx))
        // The same data directory: this instance's own earlier process, which cannot run (serve.lock).
        .where('data_dir_id', '!=', me.dataDirId)
        .executeTakeFirst();
      if (holder) return { printedBy: { host: holder.host, pid: Number(holder.pid), startedAt: holder.started_at } };
    }
    await writeSetupToken(tx, token, me.id, now);
    return { token };
  });
  if (claim && 'token' in claim) writeTokenFile(dataDir, claim.token);
  // A file of an earlier start holds a token that no longer works.
  else fs.rmSync(path.join(dataDir, SETUP_TOKEN_FILE), { force: true });
  return claim;
}

/** The lock of the setup link's claim (PostgreSQL, transaction-scoped). */
const SETUP_CLAIM_LOCK = 'kartei.setup-token';

async function writeSetupToken(tx: Tx, token: string, issuedBy: string | null, now: number): Promise<void> {
  await tx.deleteFrom('setup_token').execute();
  await tx
    .insertInto('setup_token')
    .values({
      id: 1,
      token_hash: tokenHash(token),
      expires_at: new Date(now + SETUP_TTL_MS).toISOString(),
      used_at: null,
      issued_by: issuedBy,
    })
    .execute();
}

function writeTokenFile(dataDir: string, token: string): void {
  const file = path.join(dataDir, SETUP_TOKEN_FILE);
  fs.rmSync(file, { force: true });
  fs.writeFileSync(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
}

export interface SetupInput {
  token: string;
  tenant: { name: string };
  admin: { username: string; password: string; displayName: string };
}

export class Setup {
  private readonly store: Store;
  private readonly keyring: Keyring;
  private readonly audit: AuditLog;
  private readonly dataDir: string;
  constructor(store: Store, keyring: Keyring, audit: AuditLog, dataDir: string) {
    this.store = store;
    this.keyring = keyring;
    this.audit = audit;
    this.dataDir = dataDir;
  }

  async run(
    input: SetupInput,
    address?: string,
    at: OfficeAddress = { kind: 'unaddressed' },
  ): Promise<{ tenantId: string; adminId: string }> {
    // Issue 19: offices — a token of an office the operator added.
    const office = await this.store.db
      .selectFrom('office_setup_tokens')
      .innerJoin('tenants', 'tenants.id', 'office_setup_tokens.tenant_id')
      .select(['office_setup_tokens.tenant_id', 'office_setup_tokens.expires_at', 'office_setup_tokens.used_at'])
      .select(['tenants.name', 'tenants.host'])
      .where('office_setup_tokens.token_hash', '=', tokenHash(input.token))
      .executeTakeFirst();
    if (office) return this.office(input, address, at, office);
    if (await isSetUp(this.store)) throw new KarteiError('already-set-up');
    const row = await this.store.db.selectFrom('setup_token').selectAll().where('id', '=', 1).executeTakeFirst();
    if (!row || row.used_at || Date.parse(row.expires_at) <= Date.now() || !sameHash(input.token, row.token_hash)) {
      await this.audit.attempts.record(
        { tenantId: DEPLOYMENT_CHAIN, actorId: null, action: 'setup.run', resourceType: 'tenant', outcome: 'denied' },
        address,
      );
      throw new KarteiError('invalid-setup-token');
    }
    // Checked before anything is written, so a weak password leaves the token valid.
    assertStrongPassword(
      input.admin.password,
      [input.admin.username, input.admin.displayName, input.tenant.name],
      'admin.password',
    );
    const tenantId = randomUUID();
    const adminId = await inTenantTransaction(this.store, tenantId, async (tx) => {
      const spent = await tx
        .updateTable('setup_token')
        .set({ used_at: new Date().toISOString() })
        .where('id', '=', 1)
        .where('used_at', 'is', null)
        .executeTakeFirst();
      if (Number(spent.numUpdatedRows) !== 1) throw new KarteiError('invalid-setup-token');
      await tx
        .insertInto('tenants')
        .values({
          id: tenantId,
          name: input.tenant.name,
          name_key: input.tenant.name.toLowerCase(),
          created_at: new Date().toISOString(),
        })
        .execute();
      await this.keyring.createTenantKey(tx, tenantId);
      await this.audit.startChain(tx, tenantId);
      return this.firstAdmin(tx, tenantId, input.admin, input.tenant.name);
    });
    fs.rmSync(path.join(this.dataDir, SETUP_TOKEN_FILE), { force: true });
    return { tenantId, adminId };
  }

  /**
   * Issue 19: offices. The first administrator of an office the operator added: its token only, at
   * its own address only (an office without one: anywhere no office claims), before it expires, once.
   * The office's name is the operator's; the one typed into the wizard is not used.
   */
  private async office(
    input: SetupInput,
    address: string | undefined,
    at: OfficeAddress,
    office: { tenant_id: string; expires_at: string; used_at: string | null; name: string; host: string | null },
  ): Promise<{ tenantId: string; adminId: string }> {
    const tenantId = office.tenant_id;
    const here = at.kind === 'office' ? at.id === tenantId : office.host === null;
    if (!here || office.used_at || Date.parse(office.expires_at) <= Date.now()) {
      await this.audit.attempts.record(
        { tenantId: DEPLOYMENT_CHAIN, actorId: null, action: 'setup.run', resourceType: 'tenant', outcome: 'denied' },
        address,
      );
      throw new KarteiError('invalid-setup-token');
    }
    assertStrongPassword(
      input.admin.password,
      [input.admin.username, input.admin.displayName, office.name],
      'admin.password',
    );
    const adminId = await inTenantTransaction(this.store, tenantId, async (tx) => {
      const spent = await tx
        .updateTable('office_setup_tokens')
        .set({ used_at: new Date().toISOString() })
        .where('tenant_id', '=', tenantId)
        .where('token_hash', '=', tokenHash(input.token))
        .where('used_at', 'is', null)
        .executeTakeFirst();
      if (Number(spent.numUpdatedRows) !== 1) throw new KarteiError('invalid-setup-token');
      return this.firstAdmin(tx, tenantId, input.admin, office.name);
    });
    return { tenantId, adminId };
  }

  /**
   * The office's first administrator, in the transaction that spent its token: the account with the
   * password they chose here (no second account's approval), the admin role, and both on the office's chain.
   */
  private async firstAdmin(tx: Tx, tenantId: string, admin: SetupInput['admin'], officeName: string) {
    const id = await insertUser(tx, this.keyring, tenantId, admin, officeName);
    await tx.insertInto('tenant_roles').values({ user_id: id, tenant_id: tenantId, role: 'admin' }).execute();
    await this.audit.append(tx, {
      tenantId,
      actorId: id,
      action: 'setup.run',
      resourceType: 'tenant',
      resourceId: tenantId,
      outcome: 'allowed',
    });
    await this.audit.append(tx, {
      tenantId,
      actorId: id,
      action: 'admin.user.create',
      resourceType: 'user',
      resourceId: id,
      outcome: 'allowed',
      detail: { roles: 'admin' },
    });
    return id;
  }
}
