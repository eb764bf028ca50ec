// First run. No account exists until someone presents the one-time token the
// server printed and wrote (0600) into the data directory. The token expires
// after 24 hours and is spent only by a setup that succeeds.
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { inTenantTransaction, type Store } from '../db/connect.ts';
import { DEPLOYMENT_CHAIN } from '../db/schema.ts';
import { KarteiError } from '../errors.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { Keyring } from '../vault/keyring.ts';
import { newToken, sameHash, tokenHash } from './tokens.ts';
import { insertUser } from './users.ts';
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
  const expires = new Date(Date.now() + SETUP_TTL_MS).toISOString();
  // Durable before the link is shown: through the group committer on SQLite.
  await inTenantTransaction(store, DEPLOYMENT_CHAIN, async (tx) => {
    await tx.deleteFrom('setup_token').execute();
    await tx
      .insertInto('setup_token')
      .values({ id: 1, token_hash: tokenHash(token), expires_at: expires, used_at: null })
      .execute();
  });
  const file = path.join(dataDir, SETUP_TOKEN_FILE);
  fs.rmSync(file, { force: true });
  fs.writeFileSync(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
  return token;
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

  async run(input: SetupInput, address?: string): Promise<{ tenantId: string; adminId: string }> {
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
        .values({ id: tenantId, name: input.tenant.name, created_at: new Date().toISOString() })
        .execute();
      await this.keyring.createTenantKey(tx, tenantId);
      await this.audit.startChain(tx, tenantId);
      // The office's first administrator chooses their own password here, and needs no second account's approval.
      const id = await insertUser(tx, this.keyring, tenantId, input.admin, input.tenant.name);
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
    });
    fs.rmSync(path.join(this.dataDir, SETUP_TOKEN_FILE), { force: true });
    return { tenantId, adminId };
  }
}
