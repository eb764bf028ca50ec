// Many offices on one deployment (issue 19). The operator (`kartei offices add`) creates an
// office — its row, its key, its audit chain — and a one-time setup link for it; the office's
// first administrator is made through that link (setup.ts), so the operator never holds an
// account in any office and reads nothing of an office but its name and address.
//
// An office is chosen by its address: the host name of the request. An office with a host is
// reached only there (its sessions, tokens, logins and setup link nowhere else); an office
// without one (every office made before, and the first office of a new deployment) answers at
// every host no office claims, exactly as a single-office installation always did. A host,
// unlike a path, keeps what the browser and the protocols bind to an origin apart without
// further work: the session cookie (host-only, SameSite=Strict) is never sent to another
// office, and passkeys, CSP and CORS see one origin per office; the web app and its routes
// stay unchanged. A host never changes once given (the column takes no updates).
import { randomUUID } from 'node:crypto';
import { inTenantTransaction, type Store } from '../db/connect.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { Keyring } from '../vault/keyring.ts';
import { newToken, tokenHash } from './tokens.ts';
import { refusal, RefusalError } from '../config/refusal.ts';

const OFFICE_SETUP_TTL_MS = 24 * 3_600_000;

/** What an operator may see of an office: never its data or its audit contents. */
export interface OfficeSummary {
  id: string;
  name: string;
  host: string | null;
  createdAt: string;
  /** Whether its first administrator exists (the setup link was used). */
  setUp: boolean;
}

/** A refused office command; `refusal`: its code and parameters, for `kartei` to say it in German. */
export class OfficeError extends RefusalError {}

// A DNS name: labels of letters, digits and hyphens, not starting or ending with a hyphen.
const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** A host name folded as the request's is (lower case, no trailing dot), or null if it is not one. */
export function normaliseHost(raw: string): string | null {
  const host = raw.trim().toLowerCase().replace(/\.$/, '');
  if (host.length === 0 || host.length > 253) return null;
  return host.split('.').every((l) => LABEL.test(l)) ? host : null;
}

function checkName(raw: string): string {
  const name = raw.trim();
  // Names are printed to the operator's terminal: no control characters.
  if (name.length < 2 || name.length > 200 || /\p{Cc}/u.test(name))
    throw new OfficeError(
      'an office name has 2 to 200 characters and no control characters',
      refusal('office-name-invalid'),
    );
  return name;
}

/**
 * Creates an office and its one-time setup token (24 hours). Two offices of one name (any case)
 * or one host are refused by the database's unique indexes, so parallel calls cannot both win.
 * A host-less office only on an empty deployment: the others need their own address.
 */
export async function addOffice(
  store: Store,
  keyring: Keyring,
  audit: AuditLog,
  input: { name: string; host?: string },
  now = Date.now(),
): Promise<{ office: OfficeSummary; token: string }> {
  const name = checkName(input.name);
  const host = input.host === undefined ? null : normaliseHost(input.host);
  if (input.host !== undefined && host === null)
    throw new OfficeError(`not a host name: ${input.host}`, refusal('office-host-invalid', { host: input.host }));
  if (host === null && (await store.db.selectFrom('tenants').select('id').limit(1).executeTakeFirst()))
    throw new OfficeError(
      'this deployment has an office already: give the new one its own address (--host)',
      refusal('office-host-needed'),
    );
  const id = randomUUID();
  const token = newToken();
  const createdAt = new Date(now).toISOString();
  try {
    await inTenantTransaction(store, id, async (tx) => {
      await tx
        .insertInto('tenants')
        .values({ id, name, name_key: name.toLowerCase(), host, created_at: createdAt })
        .execute();
      await keyring.createTenantKey(tx, id);
      await audit.startChain(tx, id);
      await tx
        .insertInto('office_setup_tokens')
        .values({
          token_hash: tokenHash(token),
          tenant_id: id,
          expires_at: new Date(now + OFFICE_SETUP_TTL_MS).toISOString(),
          used_at: null,
        })
        .execute();
      // The operator's act, on the office's own chain (the operator has no account: no actor).
      await audit.append(tx, {
        tenantId: id,
        actorId: null,
        action: 'office.create',
        resourceType: 'tenant',
        resourceId: id,
        outcome: 'allowed',
        detail: { via: 'operator' },
      });
    });
  } catch (e) {
    const clash = await store.db
      .selectFrom('tenants')
      .select(['name_key', 'host'])
      .where((w) => w.or([w('name_key', '=', name.toLowerCase()), ...(host ? [w('host', '=', host)] : [])]))
      .executeTakeFirst();
    if (clash?.name_key === name.toLowerCase())
      throw new OfficeError(`an office named "${name}" exists already`, refusal('office-name-taken', { name }));
    if (clash)
      throw new OfficeError(
        `an office at ${host} exists already`,
        refusal('office-host-taken', { host: String(host) }),
      );
    throw e;
  }
  return { office: { id, name, host, createdAt, setUp: false }, token };
}

/**
 * A new setup token for an office nobody has set up yet (the first expired or was lost); the old
 * one stops working. Refused once the office has an account.
 */
export async function renewOfficeSetup(store: Store, nameOrId: string, now = Date.now()): Promise<string> {
  const office = (await listOffices(store)).find(
    (o) => o.id === nameOrId || o.name.toLowerCase() === nameOrId.toLowerCase(),
  );
  if (!office) throw new OfficeError(`no office named ${nameOrId}`, refusal('office-unknown', { name: nameOrId }));
  if (office.setUp)
    throw new OfficeError(`office "${office.name}" is set up already`, refusal('office-set-up', { name: office.name }));
  const token = newToken();
  await inTenantTransaction(store, office.id, async (tx) => {
    await tx.deleteFrom('office_setup_tokens').where('tenant_id', '=', office.id).execute();
    await tx
      .insertInto('office_setup_tokens')
      .values({
        token_hash: tokenHash(token),
        tenant_id: office.id,
        expires_at: new Date(now + OFFICE_SETUP_TTL_MS).toISOString(),
        used_at: null,
      })
      .execute();
  });
  return token;
}

/** Every office's name, address and whether it is set up — nothing of its data. */
export async function listOffices(store: Store): Promise<OfficeSummary[]> {
  const rows = await store.db
    .selectFrom('tenants')
    .select(['id', 'name', 'host', 'created_at'])
    .select((eb) =>
      eb.exists(eb.selectFrom('users').select('users.id').whereRef('users.tenant_id', '=', 'tenants.id')).as('set_up'),
    )
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    host: r.host,
    createdAt: r.created_at,
    setUp: r.set_up === true || Number(r.set_up) === 1,
  }));
}

/**
 * The office's setup link: the public URL with the office's host in place of the installation's.
 * With `name`, the office's name rides along in the fragment (`&office=…`) for the setup wizard to
 * show instead of asking; the fragment never reaches a server, and setup uses the stored name.
 */
export function setupLink(publicUrl: string, host: string | null, token: string, name?: string): string {
  const url = new URL(publicUrl);
  if (host) url.hostname = host;
  const office = name === undefined ? '' : `&office=${encodeURIComponent(name)}`;
  return `${url.origin}${url.pathname.replace(/\/$/, '')}/setup#token=${token}${office}`;
}
