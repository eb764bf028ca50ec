// The one import of a DEMIS notification bundle, for the hand upload and the DEMIS poller alike:
// parse and check it (src/demis/codec), then in the gate's ONE transaction either keep it in the
// quarantine with its problems, or file it as a new notification or as a new version of the one it
// corrects or cancels. A bundle seen before (by its Bundle.identifier) writes nothing.
import { createHash, randomUUID } from 'node:crypto';
import type { Gate, GateContext } from '../access/gate.ts';
import { decidedDepartment } from '../access/gate.ts';
import type { Principal } from '../access/policy.ts';
import { demisActorId } from '../contract/audit.ts';
import { serialise } from '../db/connect.ts';
import { parseNotificationBundle } from '../demis/codec/parse.ts';
import type { BundleProblem, ParsedNotification } from '../demis/codec/notification.ts';
import { digest } from '../vault/blind-index.ts';
import type { Keyring } from '../vault/keyring.ts';
import { InboxSeal, versionRowId } from './notification-seal.ts';

export interface ImportResult {
  outcome: 'created' | 'version' | 'duplicate' | 'quarantined';
  /** The inbox's notification (created, version; a duplicate's only if it is in this department). */
  notificationId?: string;
  quarantineId?: string;
  /** Why a bundle was quarantined: the element's path and what was expected there. */
  problems?: BundleProblem[];
}

/** What an import needs besides the gate's context. */
interface ImportDeps {
  keyring: Keyring;
}

/** The time a version is ordered by (Composition.date), normalised to UTC so that strings compare. */
function orderTime(notifiedAt: string): string {
  const t = Date.parse(notifiedAt);
  return Number.isNaN(t) ? notifiedAt : new Date(t).toISOString();
}

/**
 * Imports one bundle into the inbox of the department the gate decided on (`notification.import`).
 *
 * Versions are ordered by the bundle's Composition.date (when the notifier issued it), not by when
 * it arrived: each arriving version is stored with its number in order of arrival, and the
 * notification's `current_version` moves to it only if its Composition.date is not older than the
 * current one's (equal dates: the later arrival wins). So a correction that was overtaken in
 * transit by a newer one is kept in the history but never overwrites the newer facts. Whether the
 * notification is cancelled follows its current version (`entered-in-error`).
 */
async function importNotification(
  ctx: GateContext,
  deps: ImportDeps,
  raw: Uint8Array,
  mediaType: string,
): Promise<ImportResult> {
  const departmentId = decidedDepartment(ctx);
  const parsed = parseNotificationBundle(raw, mediaType);
  if (!parsed.ok) return quarantine(ctx, deps, departmentId, raw, mediaType, parsed.problems);
  const n = parsed.notification;
  const tenantId = ctx.principal.tenantId;
  // The notification this bundle belongs to: the one it relates to, else an earlier bundle of its own NotificationId.
  const target = n.relatesTo?.notificationId ?? n.notificationId;
  // Bundles of one notification at the same moment (the poller and a hand upload, two instances) wait for each
  // other here, so the second finds the first's row: one notification with its versions, not one each (PostgreSQL;
  // SQLite writes one transaction at a time). Both NotificationIds, in order: a follow-up and its original meet.
  for (const id of [...new Set([target, n.notificationId])].sort())
    await serialise(ctx.tx, `kartei.demis-notification:${tenantId}:${departmentId}:${id}`);

  // A bundle is a duplicate only within its department: what another department received (a hand upload
  // with a chosen Bundle.identifier, say) neither swallows the real notification here nor tells that it exists.
  const seen = await ctx.tx
    .selectFrom('demis_notification_versions')
    .select('notification_row_id')
    .where('tenant_id', '=', tenantId)
    .where('department_id', '=', departmentId)
    .where('bundle_id', '=', n.bundleId)
    .executeTakeFirst();
  if (seen) {
    ctx.audit.detail = { outcome: 'duplicate' };
    return { outcome: 'duplicate', notificationId: seen.notification_row_id };
  }

  const earlier = await ctx.tx
    .selectFrom('demis_notification_versions')
    .select('notification_row_id')
    .where('tenant_id', '=', tenantId)
    .where('department_id', '=', departmentId)
    .where('notification_id', 'in', [target, n.notificationId])
    .executeTakeFirst();
  if (!earlier && n.relatesTo) {
    return quarantine(ctx, deps, departmentId, raw, mediaType, [
      {
        path: 'Composition.relatesTo',
        code: 'related-unknown',
        params: { kind: n.relatesTo.code === 'replaces' ? 'correction' : 'follow-up' },
        expected: `the NotificationId of a notification this department has received (this ${n.relatesTo.code === 'replaces' ? 'correction' : 'follow-up'} names one it has not)`,
      },
    ]);
  }
  const seal = await InboxSeal.of(ctx, deps.keyring, departmentId);
  const diseaseDigest = digest(
    await deps.keyring.indexKey(ctx.tx, tenantId),
    'disease',
    n.disease.code.trim().toLowerCase(),
  );
  const at = orderTime(n.notifiedAt);
  if (!earlier) {
    const id = randomUUID();
    await ctx.tx
      .insertInto('demis_notifications')
      .values({
        id,
        tenant_id: tenantId,
        department_id: departmentId,
        notification_id: n.notificationId,
        kind: n.kind,
        current_version: 1,
        versions: 1,
        state: 'new',
        cancelled: n.status === 'entered-in-error' ? 1 : 0,
        case_review: 0,
        assignee_id: null,
        disease_digest: diseaseDigest,
        notified_at: at,
        received_at: ctx.now,
        person_id: null,
        case_record_id: null,
        close_reason_enc: null,
        version: 1,
        updated_at: ctx.now,
      })
      .execute();
    await insertVersion(ctx, seal, id, 1, departmentId, n, at, raw, mediaType);
    ctx.audit.resourceId = id;
    ctx.audit.detail = { outcome: 'created' };
    return { outcome: 'created', notificationId: id };
  }

  const row = await ctx.tx
    .selectFrom('demis_notifications')
    .selectAll()
    .where('id', '=', earlier.notification_row_id)
    .where('tenant_id', '=', tenantId)
    .executeTakeFirstOrThrow();
  const version = row.versions + 1;
  await insertVersion(ctx, seal, row.id, version, departmentId, n, at, raw, mediaType);
  const newest = at >= row.notified_at;
  await ctx.tx
    .updateTable('demis_notifications')
    .set({
      versions: version,
      version: row.version + 1,
      updated_at: ctx.now,
      ...(newest
        ? {
            current_version: version,
            notified_at: at,
            kind: n.kind,
            disease_digest: diseaseDigest,
            cancelled: n.status === 'entered-in-error' ? 1 : 0,
            // Accepted into a case already: the case needs a look at what changed.
            case_review: row.case_record_id ? 1 : row.case_review,
          }
        : {}),
    })
    .where('id', '=', row.id)
    .where('versions', '=', row.versions)
    .execute();
  ctx.audit.resourceId = row.id;
  if (row.person_id) ctx.audit.personId = row.person_id;
  ctx.audit.detail = { outcome: 'version', version, current: newest };
  return { outcome: 'version', notificationId: row.id };
}

async function insertVersion(
  ctx: GateContext,
  seal: InboxSeal,
  rowId: string,
  version: number,
  departmentId: string,
  n: ParsedNotification,
  at: string,
  raw: Uint8Array,
  mediaType: string,
) {
  const vid = versionRowId(rowId, version);
  await ctx.tx
    .insertInto('demis_notification_versions')
    .values({
      notification_row_id: rowId,
      version,
      tenant_id: ctx.principal.tenantId,
      department_id: departmentId,
      bundle_id: n.bundleId,
      notification_id: n.notificationId,
      relates_code: n.relatesTo?.code ?? null,
      status: n.status,
      notified_at: at,
      source: sourceOf(ctx.principal),
      media_type: mediaType.split(';')[0]!.trim().toLowerCase().slice(0, 100),
      received_at: ctx.now,
      received_by: ctx.principal.userId,
      bundle_enc: seal.bundle('demis_notification_versions', vid, raw),
      parsed_enc: seal.parsed(vid, n),
    })
    .execute();
}

const sourceOf = (p: Principal) => (p.service?.kind === 'demis' ? 'demis' : 'upload');

/**
 * Keeps a refused bundle, sealed with its problems. The same bytes again are the same entry
 * (a keyed digest of them, unique per department); one dismissed before is opened again, so
 * that nothing that arrives is lost.
 */
async function quarantine(
  ctx: GateContext,
  deps: ImportDeps,
  departmentId: string,
  raw: Uint8Array,
  mediaType: string,
  problems: BundleProblem[],
): Promise<ImportResult> {
  const tenantId = ctx.principal.tenantId;
  const contentDigest = digest(
    await deps.keyring.indexKey(ctx.tx, tenantId),
    'bundle-content',
    createHash('sha256').update(raw).digest('hex'),
  );
  const existing = await ctx.tx
    .selectFrom('demis_quarantine')
    .select(['id', 'state'])
    .where('tenant_id', '=', tenantId)
    .where('department_id', '=', departmentId)
    .where('content_digest', '=', contentDigest)
    .executeTakeFirst();
  ctx.audit.detail = { outcome: 'quarantined', problems: problems.length };
  if (existing) {
    if (existing.state !== 'open')
      await ctx.tx
        .updateTable('demis_quarantine')
        .set({ state: 'open', decided_by: null, decided_at: null, decision_enc: null })
        .where('id', '=', existing.id)
        .execute();
    ctx.audit.resourceId = existing.id;
    ctx.audit.detail.again = true;
    return { outcome: 'quarantined', quarantineId: existing.id, problems };
  }
  const id = randomUUID();
  const seal = await InboxSeal.of(ctx, deps.keyring, departmentId);
  await ctx.tx
    .insertInto('demis_quarantine')
    .values({
      id,
      tenant_id: tenantId,
      department_id: departmentId,
      received_at: ctx.now,
      received_by: ctx.principal.userId,
      source: sourceOf(ctx.principal),
      media_type: mediaType.split(';')[0]!.trim().toLowerCase().slice(0, 100),
      content_digest: contentDigest,
      bundle_enc: seal.bundle('demis_quarantine', id, raw),
      problems_enc: seal.problems(id, problems),
      problem_count: problems.length,
      state: 'open',
      decided_by: null,
      decided_at: null,
      decision_enc: null,
    })
    .execute();
  ctx.audit.resourceId = id;
  return { outcome: 'quarantined', quarantineId: id, problems };
}

/** A unique key was taken by a parallel import of the same bundle (or the same broken bytes). */
function isUniqueViolation(e: unknown): boolean {
  const code = (e as { code?: unknown })?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/**
 * Runs the import through the gate; a parallel import of the same bundle that took its key first
 * makes this one a `duplicate` (or the same quarantine entry) on the second try.
 */
export async function importThroughGate(
  s: { gate: Gate; keyring: Keyring },
  principal: Principal,
  departmentId: string,
  raw: Uint8Array,
  mediaType: string,
): Promise<ImportResult> {
  const run = () =>
    s.gate.run(principal, 'notification.import', { kind: 'department', departmentId }, (ctx) =>
      importNotification(ctx, s, raw, mediaType),
    );
  try {
    return await run();
  } catch (e) {
    if (!isUniqueViolation(e)) throw e;
    return run();
  }
}

/** The DEMIS connection of a department as a principal of its own: no roles, no memberships. */
export function demisPrincipal(tenantId: string, departmentId: string): Principal {
  return {
    userId: demisActorId(departmentId),
    tenantId,
    tenantRoles: [],
    memberships: [],
    service: { kind: 'demis', departmentId },
  };
}

/** For the composition root: a bundle the DEMIS poller fetched for a department, imported as that connection. */
export function importFromConnection(
  s: { gate: Gate; keyring: Keyring },
  tenantId: string,
  departmentId: string,
  raw: Uint8Array,
  mediaType: string,
): Promise<ImportResult> {
  return importThroughGate(s, demisPrincipal(tenantId, departmentId), departmentId, raw, mediaType);
}
