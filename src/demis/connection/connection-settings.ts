// The office's DEMIS connection as stored (table demis_connections, migration 021): what an admin
// configures and sees (read/write inside the gate), and what the poller reads and records outside
// it. The client secret, the password, the office's DEMIS user, the certificate and its key are one
// sealed field under the tenant key, bound to the office, table, row and field; a failed poll's
// error sealed the same way. Nothing here is ever logged or answered except the view, which names
// the certificate's subject and expiry and never a secret.
import { inTenantTransaction, type Store, type Tx } from '../../db/connect.ts';
import { fieldsRefused, type FieldProblem } from '../../errors.ts';
import type { GateContext } from '../../access/gate.ts';
import { openField, sealField, type Keyring } from '../../vault/keyring.ts';
import { unknownDepartment } from '../../identity/departments.ts';
import type { DemisSettings } from '../../contract/demis.ts';
import { checkCredentials, type OfficeCredentials } from './credentials.ts';
import { openPkcs12 } from './pkcs12.ts';

export interface DemisSettingsInput {
  tokenUrl: string;
  clearingUrl: string;
  clientId: string;
  clientSecret?: string;
  username: string;
  password?: string;
  certificate?: string;
  privateKey?: string;
  keyPassphrase?: string;
  /** Instead of certificate and key: a PKCS#12 file, base64, and its password. */
  pkcs12?: string;
  pkcs12Password?: string;
  departmentId: string;
  pollIntervalMinutes: number;
  enabled: boolean;
}

/** What is sealed in `credentials_enc`. */
interface Sealed extends OfficeCredentials {
  clientSecret: string;
  username: string;
  password: string | null;
}

/** A configured connection with its secrets open: only the poller holds one, in memory, for one poll. */
export interface DemisConnection {
  tenantId: string;
  tokenUrl: string;
  clearingUrl: string;
  clientId: string;
  clientSecret: string;
  username: string;
  password: string | null;
  certificate: string;
  privateKey: string;
  departmentId: string;
  pollIntervalMs: number;
  position: string | null;
  positionIds: string[];
  failures: number;
}

const binding = (tenantId: string, field: 'credentials' | 'last_error') => ({
  tenantId,
  table: 'demis_connections',
  rowId: tenantId,
  field,
});

function urlProblem(field: string, value: string): FieldProblem | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return { field, code: 'invalid-format', message: 'not a URL' };
  }
  if (url.protocol !== 'https:') return { field, code: 'url-not-https', message: 'must be an https:// address' };
  if (url.username || url.password || url.hash)
    return { field, code: 'invalid-format', message: 'no credentials or fragment in the address' };
  return null;
}

/** The office's connection as the admin screen shows it: never a secret or the key. */
export async function readDemisSettings(ctx: GateContext, keyring: Keyring): Promise<DemisSettings> {
  const tenantId = ctx.principal.tenantId;
  const row = await ctx.tx
    .selectFrom('demis_connections')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .executeTakeFirst();
  if (!row) return { configured: false };
  const key = await keyring.tenantKey(ctx.tx, tenantId);
  const sealed = openField<Sealed>(key, binding(tenantId, 'credentials'), row.credentials_enc);
  const lastError = row.last_error_enc
    ? openField<PollError>(key, binding(tenantId, 'last_error'), row.last_error_enc)
    : null;
  return {
    configured: true,
    tokenUrl: row.token_url,
    clearingUrl: row.clearing_url,
    clientId: row.client_id,
    username: sealed.username,
    hasClientSecret: true,
    hasPassword: sealed.password !== null,
    departmentId: row.department_id,
    pollIntervalMinutes: Math.round(row.poll_interval_s / 60),
    enabled: row.enabled === 1,
    certificate: { subject: sealed.subject, notAfter: row.cert_not_after },
    lastPollAt: row.last_poll_at,
    lastSuccessAt: row.last_success_at,
    lastImported: row.last_imported,
    lastError: lastError?.text ?? null,
    lastFailure: lastError?.kind ?? null,
    failures: row.failures,
    nextPollAt: row.next_poll_at,
    updatedAt: row.updated_at,
  };
}

/**
 * Sets the office's connection. A new token endpoint or client id needs the client secret again
 * (a stored one is never sent to another endpoint); the first configuration needs the certificate
 * and key, a later one keeps them unless both are given. Every problem is named by its field.
 * Audited with what changed, never a secret.
 */
export async function writeDemisSettings(
  ctx: GateContext,
  keyring: Keyring,
  given: DemisSettingsInput,
  now = Date.now(),
): Promise<DemisSettings> {
  let input = given;
  const tenantId = ctx.principal.tenantId;
  const tx: Tx = ctx.tx;
  const before = await tx
    .selectFrom('demis_connections')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .executeTakeFirst();
  const key = await keyring.tenantKey(tx, tenantId);
  const old = before ? openField<Sealed>(key, binding(tenantId, 'credentials'), before.credentials_enc) : null;
  const problems: FieldProblem[] = [];
  for (const [field, value] of [
    ['tokenUrl', input.tokenUrl],
    ['clearingUrl', input.clearingUrl],
  ] as const) {
    const p = urlProblem(field, value);
    if (p) problems.push(p);
  }
  const moved = !before || before.token_url !== input.tokenUrl || before.client_id !== input.clientId;
  if (moved && !input.clientSecret)
    problems.push({
      field: 'clientSecret',
      code: 'client-secret-required',
      message: 'required for a new token endpoint or client id',
    });
  const department = await unknownDepartment(tx, tenantId, input.departmentId);
  if (department) problems.push(department);
  let credentials: OfficeCredentials | null = old;
  if (input.pkcs12 !== undefined) {
    if (input.certificate !== undefined || input.privateKey !== undefined)
      problems.push({ field: 'pkcs12', code: 'invalid', message: 'either a PKCS#12 file or certificate and key' });
    else {
      const opened = await openPkcs12(Buffer.from(input.pkcs12, 'base64'), input.pkcs12Password ?? '');
      if ('problem' in opened)
        problems.push(
          opened.problem === 'password'
            ? { field: 'pkcs12Password', code: 'pkcs12-password', message: 'does not open the PKCS#12 file' }
            : {
                field: 'pkcs12',
                code: 'pkcs12-unreadable',
                message: 'not a PKCS#12 file Kartei can read (legacy RC2/3DES encryption: export it again with PBES2)',
              },
        );
      else
        input = { ...input, certificate: opened.certificate, privateKey: opened.privateKey, keyPassphrase: undefined };
    }
  }
  const givesPair = input.certificate !== undefined || input.privateKey !== undefined;
  if ((givesPair || !old) && !problems.some((p) => p.field.startsWith('pkcs12'))) {
    if (!input.certificate)
      problems.push({ field: 'certificate', code: 'required', message: "the office's DEMIS certificate (PEM)" });
    if (!input.privateKey)
      problems.push({ field: 'privateKey', code: 'required', message: "the certificate's private key (PEM)" });
    if (input.certificate && input.privateKey) {
      const checked = checkCredentials(
        { certificate: input.certificate, privateKey: input.privateKey, keyPassphrase: input.keyPassphrase },
        now,
      );
      if (Array.isArray(checked)) problems.push(...checked);
      else credentials = checked;
    }
  }
  if (problems.length > 0 || !credentials) throw fieldsRefused('validation-failed', problems);
  const sealed: Sealed = {
    ...credentials,
    clientSecret: input.clientSecret ?? old!.clientSecret,
    username: input.username,
    password: input.password !== undefined ? input.password || null : moved ? null : (old?.password ?? null),
  };
  const nowIso = new Date(now).toISOString();
  const values = {
    token_url: input.tokenUrl,
    clearing_url: input.clearingUrl,
    client_id: input.clientId,
    credentials_enc: sealField(key, binding(tenantId, 'credentials'), sealed),
    cert_not_after: credentials.notAfter,
    department_id: input.departmentId,
    poll_interval_s: input.pollIntervalMinutes * 60,
    enabled: input.enabled ? 1 : 0,
    next_poll_at: nowIso,
    failures: 0,
    updated_at: ctx.now,
    updated_by: ctx.principal.userId,
  };
  // A new clearing endpoint or office user starts from the beginning: its positions are not ours.
  const restart =
    !before || before.clearing_url !== input.clearingUrl || (old !== null && old.username !== input.username);
  if (before)
    await tx
      .updateTable('demis_connections')
      .set({ ...values, ...(restart ? { position: null, position_ids: '[]' } : {}) })
      .where('tenant_id', '=', tenantId)
      .execute();
  else
    await tx
      .insertInto('demis_connections')
      .values({
        tenant_id: tenantId,
        ...values,
        position: null,
        position_ids: '[]',
        last_poll_at: null,
        last_success_at: null,
        last_imported: 0,
        last_error_enc: null,
      })
      .execute();
  ctx.audit.detail = {
    tokenUrl: input.tokenUrl,
    clearingUrl: input.clearingUrl,
    clientId: input.clientId,
    departmentId: input.departmentId,
    pollIntervalMinutes: input.pollIntervalMinutes,
    enabled: input.enabled,
    secretChanged: !!input.clientSecret,
    passwordChanged: input.password !== undefined,
    certificateChanged: givesPair,
    certificateNotAfter: credentials.notAfter,
  };
  return readDemisSettings(ctx, keyring);
}

/** The offices whose connection is on and whose next poll is due (or never planned). */
export async function dueConnections(store: Store, now: string): Promise<string[]> {
  const rows = await store.db
    .selectFrom('demis_connections')
    .select('tenant_id')
    .where('enabled', '=', 1)
    .where((eb) => eb.or([eb('next_poll_at', 'is', null), eb('next_poll_at', '<=', now)]))
    .execute();
  return rows.map((r) => r.tenant_id);
}

/** One office's connection with its secrets open, for one poll. */
export function loadConnection(store: Store, keyring: Keyring, tenantId: string): Promise<DemisConnection | null> {
  return inTenantTransaction(store, tenantId, async (tx) => {
    const row = await tx
      .selectFrom('demis_connections')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .executeTakeFirst();
    if (!row) return null;
    const s = openField<Sealed>(
      await keyring.tenantKey(tx, tenantId),
      binding(tenantId, 'credentials'),
      row.credentials_enc,
    );
    return {
      tenantId,
      tokenUrl: row.token_url,
      clearingUrl: row.clearing_url,
      clientId: row.client_id,
      clientSecret: s.clientSecret,
      username: s.username,
      password: s.password,
      certificate: s.certificate,
      privateKey: s.privateKey,
      departmentId: row.department_id,
      pollIntervalMs: row.poll_interval_s * 1000,
      position: row.position,
      positionIds: JSON.parse(row.position_ids) as string[],
      failures: row.failures,
    };
  });
}

/** Moves the position on after a notification's import committed. */
export function savePosition(store: Store, tenantId: string, position: string, ids: string[]): Promise<void> {
  return inTenantTransaction(store, tenantId, async (tx) => {
    await tx
      .updateTable('demis_connections')
      .set({ position, position_ids: JSON.stringify(ids) })
      .where('tenant_id', '=', tenantId)
      .execute();
  });
}

/** What ended a failed poll: its kind (timeout, tls, …) and Kartei's own sentence. */
interface PollError {
  kind: string;
  text: string;
}

export interface PollRecord {
  at: string;
  imported: number;
  /** Null after a poll that succeeded. */
  error: PollError | null;
  failures: number;
  nextPollAt: string;
}

/** Records how a poll ended and when the next one is due. */
export function recordPoll(store: Store, keyring: Keyring, tenantId: string, r: PollRecord): Promise<void> {
  return inTenantTransaction(store, tenantId, async (tx) => {
    const key = await keyring.tenantKey(tx, tenantId);
    await tx
      .updateTable('demis_connections')
      .set({
        last_poll_at: r.at,
        last_imported: r.imported,
        failures: r.failures,
        next_poll_at: r.nextPollAt,
        last_error_enc: r.error === null ? null : sealField(key, binding(tenantId, 'last_error'), r.error),
        ...(r.error === null ? { last_success_at: r.at } : {}),
      })
      .where('tenant_id', '=', tenantId)
      .execute();
  });
}
