// The registry of DICOM devices: who may open an association, from where or
// with which certificate, for which department, to do what. Registered, listed
// and removed by a tenant admin (through the gate: those take a GateContext).
// Two look-ups run outside the gate by design, and answer device facts only
// (AE title, department, permissions, address, certificate: no personal data):
// `identifyDevice`, when an association arrives, before any tenant or principal
// is known; and `deviceByAeTitle`, C-MOVE's destination, whose retrieval then
// passes the gate.
import { randomUUID, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import type { GateContext } from '../access/gate.ts';
import type { Db, Tx } from '../db/connect.ts';
import type { DevicesTable } from '../db/schema.ts';
import { unknownDepartment } from '../identity/departments.ts';
import { DEVICE_PERMISSIONS, type DevicePermission, type Principal } from '../access/policy.ts';
import { isLoopback } from '../config/config.ts';
import { KarteiError, fieldRefused, fieldsRefused, type FieldProblem } from '../errors.ts';

export interface DeviceInput {
  aeTitle: string;
  departmentId: string;
  permissions: DevicePermission[];
  /** PEM of the device's client certificate; its SHA-256 fingerprint is pinned. */
  certificate?: string;
  /** Where associations come from (loopback setups without certificates), and with `port` where C-MOVE sends to. */
  host?: string;
  port?: number;
}

export interface Device {
  id: string;
  aeTitle: string;
  departmentId: string;
  permissions: DevicePermission[];
  certificate: { fingerprint256: string; subject: string; validTo: string } | null;
  host: string | null;
  port: number | null;
  createdAt: string;
}

/** The one answer to every registration that collides with a registered device. */
const REGISTRATION_CONFLICT =
  'aeTitle: this AE title is taken in this office, or a device with this AE title and this certificate (or loopback host) is registered';

/** What proves a device when it calls: its pinned certificate, else its loopback host. */
function identityKey(certFingerprint: string | null, host: string | null): string {
  return certFingerprint ? `cert:${certFingerprint}` : `host:${normaliseAddress(host ?? '')}`;
}

/** Registers a device of the caller's office; its id, with the registration's facts on the record. */
export async function registerDevice(ctx: GateContext, input: DeviceInput): Promise<string> {
  const { tx, now } = ctx;
  const tenantId = ctx.principal.tenantId;
  const problems: FieldProblem[] = [];
  let cert: ReturnType<typeof parseCertificate> | null = null;
  try {
    cert = input.certificate ? parseCertificate(input.certificate) : null;
  } catch (e) {
    if (!(e instanceof KarteiError)) throw e;
    problems.push({
      field: 'certificate',
      code: 'certificate-not-pem',
      message: 'not a PEM-encoded X.509 certificate',
    });
  }
  if (!input.certificate && !input.host) {
    problems.push({
      field: 'certificate',
      code: 'device-needs-certificate',
      message: 'a device needs a client certificate, or a loopback host',
    });
  }
  if (!input.certificate && input.host && !isLoopback(input.host)) {
    problems.push({
      field: 'host',
      code: 'host-not-loopback',
      message: 'without a certificate, only a loopback host can be trusted',
    });
  }
  const unknown = await unknownDepartment(tx, tenantId, input.departmentId);
  if (unknown) problems.push(unknown);
  if (problems.length > 0) throw fieldsRefused('validation-failed', problems);
  // AE titles are unique per office (a C-MOVE destination is named by its AE title within its office).
  // What identifies a calling device across the deployment is its AE title with its proof — the
  // pinned certificate, or the loopback host — and that pair is unique across the deployment. Both
  // conflicts get the same answer, so it never tells whether another office uses an AE title.
  const identity = identityKey(cert?.fingerprint256 ?? null, input.host ?? null);
  const taken = await tx
    .selectFrom('devices')
    .select('id')
    .where('ae_title', '=', input.aeTitle)
    .where((eb) => eb.or([eb('tenant_id', '=', tenantId), eb('identity_key', '=', identity)]))
    .executeTakeFirst();
  if (taken)
    throw fieldRefused('conflict', 'aeTitle', 'ae-title-taken', REGISTRATION_CONFLICT.slice('aeTitle: '.length));
  const id = randomUUID();
  await tx
    .insertInto('devices')
    .values({
      id,
      tenant_id: tenantId,
      department_id: input.departmentId,
      ae_title: input.aeTitle,
      permissions: [...new Set(input.permissions)].sort().join(','),
      cert_fingerprint: cert?.fingerprint256 ?? null,
      cert_subject: cert?.subject ?? null,
      cert_expires_at: cert?.validTo ?? null,
      host: input.host ?? null,
      port: input.port ?? null,
      identity_key: identity,
      created_at: now,
      created_by: ctx.principal.userId,
    })
    .execute();
  ctx.audit.resourceId = id;
  ctx.audit.detail = {
    aeTitle: input.aeTitle,
    departmentId: input.departmentId,
    permissions: input.permissions.join(','),
    certificate: !!input.certificate,
  };
  return id;
}

/** The office's devices by AE title. */
export async function listDevices(ctx: GateContext): Promise<Device[]> {
  const rows = await ctx.tx
    .selectFrom('devices')
    .selectAll()
    .where('tenant_id', '=', ctx.principal.tenantId)
    .orderBy('ae_title')
    .execute();
  return rows.map(toDevice);
}

/** Removes a device of the caller's office; false if there is none. */
export async function removeDevice(ctx: GateContext, id: string): Promise<boolean> {
  const r = await ctx.tx
    .deleteFrom('devices')
    .where('id', '=', id)
    .where('tenant_id', '=', ctx.principal.tenantId)
    .executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

/**
 * A device of this tenant by AE title (a C-MOVE destination), or undefined. Outside the
 * gate: the calling device names its destination before the retrieval is decided.
 */
export async function deviceByAeTitle(tx: Tx, tenantId: string, aeTitle: string): Promise<Device | undefined> {
  const row = await tx
    .selectFrom('devices')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('ae_title', '=', aeTitle)
    .executeTakeFirst();
  return row && toDevice(row);
}

/** What an association presents about its caller. */
export interface Caller {
  callingAeTitle: string;
  remoteAddress: string;
  /** SHA-256 fingerprint of the verified client certificate; absent on a plain (loopback) listener. */
  certificateFingerprint?: string;
}

export type Identification =
  | { ok: true; device: Device; tenantId: string; principal: Principal }
  | {
      ok: false;
      why: 'unknown-ae' | 'wrong-certificate' | 'certificate-required' | 'wrong-host';
      tenantId: string | null;
      deviceId: string | null;
    };

/**
 * Recognises a device by calling AE title and proves it: by its pinned
 * certificate over TLS, or by its loopback host on a plain listener. A device
 * registered with a certificate is never accepted without it, one registered
 * without is never accepted with one. Outside the gate: it makes the principal
 * the gate then decides for.
 */
export async function identifyDevice(db: Db, caller: Caller): Promise<Identification> {
  // Every office may use an AE title; the caller's proof picks the one device (unique across the deployment).
  const rows = await db.selectFrom('devices').selectAll().where('ae_title', '=', caller.callingAeTitle).execute();
  const row = rows.find((r) =>
    r.cert_fingerprint
      ? r.cert_fingerprint === caller.certificateFingerprint
      : !caller.certificateFingerprint &&
        !!r.host &&
        normaliseAddress(r.host) === normaliseAddress(caller.remoteAddress),
  );
  if (!row) {
    if (rows.length === 0) return { ok: false, why: 'unknown-ae', tenantId: null, deviceId: null };
    const why = caller.certificateFingerprint
      ? 'wrong-certificate'
      : rows.some((r) => r.cert_fingerprint)
        ? 'certificate-required'
        : 'wrong-host';
    // With one device of that AE title the failure is its office's to see; with several, the deployment's.
    const [only] = rows.length === 1 ? rows : [];
    return { ok: false, why, tenantId: only?.tenant_id ?? null, deviceId: only?.id ?? null };
  }
  const device = toDevice(row);
  return {
    ok: true,
    device,
    tenantId: row.tenant_id,
    principal: {
      userId: row.id,
      tenantId: row.tenant_id,
      tenantRoles: [],
      memberships: [],
      device: { departmentId: row.department_id, permissions: device.permissions },
    },
  };
}

function parseCertificate(pem: string) {
  try {
    const cert = new X509Certificate(pem);
    return {
      fingerprint256: cert.fingerprint256,
      subject: cert.subject.replace(/\n/g, ', '),
      validTo: new Date(cert.validTo).toISOString(),
    };
  } catch {
    throw fieldRefused(
      'validation-failed',
      'certificate',
      'certificate-not-pem',
      'not a PEM-encoded X.509 certificate',
    );
  }
}

/** '::ffff:127.0.0.1' and '127.0.0.1' are one host; 'localhost' is the IPv4 loopback. */
function normaliseAddress(a: string): string {
  const v4 = a.startsWith('::ffff:') && isIP(a.slice(7)) === 4 ? a.slice(7) : a;
  return v4 === 'localhost' ? '127.0.0.1' : v4.toLowerCase();
}

function toDevice(row: DevicesTable): Device {
  return {
    id: row.id,
    aeTitle: row.ae_title,
    departmentId: row.department_id,
    permissions: row.permissions
      .split(',')
      .filter((p): p is DevicePermission => (DEVICE_PERMISSIONS as readonly string[]).includes(p)),
    certificate: row.cert_fingerprint
      ? { fingerprint256: row.cert_fingerprint, subject: row.cert_subject ?? '', validTo: row.cert_expires_at ?? '' }
      : null,
    host: row.host,
    port: row.port,
    createdAt: row.created_at,
  };
}
