// A department's DEMIS inbox after the import: the list (filters, newest first, the person as
// notified decrypted for the page only), one notification with its versions and what changed, its
// raw bundle, assigning it, linking or creating the person's file, closing it without a case, and the
// quarantine of refused bundles. Every function takes the GateContext the gate decided on.
import type { GateContext } from '../access/gate.ts';
import { decidedDepartment } from '../access/gate.ts';
import type { ParsedNotification } from '../demis/codec/notification.ts';
import { fieldRefused, KarteiError } from '../errors.ts';
import { displayNames } from '../identity/users.ts';
import { decodeCursor, pageOf } from '../records/page-cursor.ts';
import { lockFile, refuseMerged, stale, type PersonData, type Persons } from '../records/persons.ts';
import type { DemisNotificationsTable } from '../db/schema.ts';
import { digest } from '../vault/blind-index.ts';
import type { Keyring } from '../vault/keyring.ts';
import { InboxSeal, versionRowId } from './notification-seal.ts';
import { restrictedHiddenFrom } from './contact-index.ts';

type NotificationState = 'new' | 'assigned' | 'matched' | 'closed';

export interface InboxFilter {
  state?: NotificationState;
  /** A DEMIS notification category code (`cvdp`, `cvdd`, …): found by its keyed digest. */
  disease?: string;
  /** Notified on or after this day / on or before this day (ISO dates). */
  from?: string;
  to?: string;
  assignee?: string;
  limit: number;
  before?: string;
}

interface InboxDeps {
  keyring: Keyring;
}

type Row = DemisNotificationsTable;

const notifiedPerson = (n: ParsedNotification) => ({
  ...(n.person.familyName ? { familyName: n.person.familyName } : {}),
  ...(n.person.givenName ? { givenName: n.person.givenName } : {}),
  ...(n.person.birthDate ? { birthDate: n.person.birthDate } : {}),
});

function itemOf(r: Row, n: ParsedNotification, names: Map<string, string>, hidden: Set<string>) {
  return {
    id: r.id,
    departmentId: r.department_id,
    kind: r.kind as 'laboratory' | 'disease',
    disease: n.disease,
    notifiedAt: r.notified_at,
    receivedAt: r.received_at,
    state: r.state as NotificationState,
    cancelled: r.cancelled === 1,
    corrected: r.versions > 1,
    caseReview: r.case_review === 1,
    assigneeId: r.assignee_id,
    assigneeName: r.assignee_id ? (names.get(r.assignee_id) ?? null) : null,
    person: notifiedPerson(n),
    personId: r.person_id,
    caseRecordId: shownCase(r.case_record_id, hidden),
    version: r.version,
  };
}

const shownCase = (id: string | null, hidden: Set<string>) => (id && !hidden.has(id) ? id : null);

/**
 * s28: the cases a notification's reader is not told of. A notification accepted into a restricted case names that
 * case; where the case's department hides restricted records from whoever may not read them (`restricted_listing`
 * 'hidden'), the case answers such a reader 404, like a missing one — its id in the inbox would tell of it. Such a
 * reader is shown no case (null), as before the accept. Where restricted records are listed, the id is shown.
 */
async function hiddenCases(ctx: GateContext, ids: (string | null)[]): Promise<Set<string>> {
  const wanted = [...new Set(ids.filter((x): x is string => x !== null))];
  if (wanted.length === 0) return new Set();
  const rows = await ctx.tx
    .selectFrom('records')
    .innerJoin('persons', 'persons.id', 'records.person_id')
    .select(['records.id', 'persons.department_id'])
    .where('records.tenant_id', '=', ctx.principal.tenantId)
    .where('records.id', 'in', wanted)
    .where('records.sensitivity', '=', 'restricted')
    .execute();
  const hidden = new Set<string>();
  const byDepartment = new Map<string, boolean>();
  for (const r of rows) {
    if (!byDepartment.has(r.department_id))
      byDepartment.set(r.department_id, await restrictedHiddenFrom(ctx, r.department_id));
    if (byDepartment.get(r.department_id)) hidden.add(r.id);
  }
  return hidden;
}

const BERLIN = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Europe/Berlin',
  hourCycle: 'h23',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
});

/**
 * The instant a German calendar day begins (Europe/Berlin, where a notification's day is its office's
 * day), as stored: UTC ISO. `notified_at` is kept in UTC so that versions order by it.
 */
function dayStart(d: string): string {
  const guess = Date.parse(`${d}T00:00:00Z`);
  const p = Object.fromEntries(BERLIN.formatToParts(guess).map((x) => [x.type, x.value]));
  const asBerlin = Date.parse(`${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}:00Z`);
  return new Date(guess - (asBerlin - guess)).toISOString();
}

/** The start of the day after an ISO date, for an inclusive `to`. */
const dayAfter = (d: string) =>
  dayStart(new Date(Date.parse(`${d}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10));

/** One page of the department's notifications, newest received first. */
export async function listNotifications(ctx: GateContext, deps: InboxDeps, f: InboxFilter) {
  const departmentId = decidedDepartment(ctx);
  const tenantId = ctx.principal.tenantId;
  let q = ctx.tx
    .selectFrom('demis_notifications')
    .innerJoin('demis_notification_versions as v', (j) =>
      j
        .onRef('v.notification_row_id', '=', 'demis_notifications.id')
        .onRef('v.version', '=', 'demis_notifications.current_version'),
    )
    .selectAll('demis_notifications')
    .select('v.parsed_enc')
    .where('demis_notifications.tenant_id', '=', tenantId)
    .where('demis_notifications.department_id', '=', departmentId);
  if (f.state) q = q.where('demis_notifications.state', '=', f.state);
  if (f.assignee) q = q.where('demis_notifications.assignee_id', '=', f.assignee);
  if (f.disease) {
    const key = await deps.keyring.indexKey(ctx.tx, tenantId);
    q = q.where('demis_notifications.disease_digest', '=', digest(key, 'disease', f.disease.trim().toLowerCase()));
  }
  if (f.from) q = q.where('demis_notifications.notified_at', '>=', dayStart(f.from));
  if (f.to) q = q.where('demis_notifications.notified_at', '<', dayAfter(f.to));
  const cursor = f.before ? decodeCursor(f.before) : null;
  if (cursor)
    q = q.where((eb) =>
      eb(eb.refTuple('demis_notifications.received_at', 'demis_notifications.id'), '<', eb.tuple(cursor.at, cursor.id)),
    );
  const rows = await q
    .orderBy('demis_notifications.received_at', 'desc')
    .orderBy('demis_notifications.id', 'desc')
    .limit(f.limit + 1)
    .execute();
  const { rows: shown, next } = pageOf(rows, f.limit, (r) => ({ at: r.received_at, id: r.id }));
  const seal = await InboxSeal.of(ctx, deps.keyring, departmentId);
  const names = await displayNames(
    ctx,
    deps.keyring,
    shown.map((r) => r.assignee_id),
  );
  const hidden = await hiddenCases(
    ctx,
    shown.map((r) => r.case_record_id),
  );
  const items = shown.map((r) =>
    itemOf(r, seal.openParsed(versionRowId(r.id, r.current_version), r.parsed_enc), names, hidden),
  );
  ctx.audit.detail = { count: items.length, ...(f.before ? { paged: true } : {}) };
  // A notification linked to a file shows that file's person: on the person's access report.
  ctx.audit.hits = shown.flatMap((r) => (r.person_id ? [{ personId: r.person_id, departmentId }] : []));
  return { items, next };
}

async function rowOf(ctx: GateContext, id: string): Promise<Row> {
  const row = await ctx.tx
    .selectFrom('demis_notifications')
    .selectAll()
    .where('id', '=', id)
    .where('tenant_id', '=', ctx.principal.tenantId)
    .executeTakeFirst();
  if (!row) throw new KarteiError('not-found');
  return row;
}

/** The dotted names of the facts that differ between two versions. */
function changedFacts(before: ParsedNotification, after: ParsedNotification): string[] {
  const ignore = new Set(['bundleId', 'notificationId', 'relatesTo', 'profile']);
  const out: string[] = [];
  const walk = (a: unknown, b: unknown, path: string) => {
    const objA = a && typeof a === 'object' && !Array.isArray(a);
    const objB = b && typeof b === 'object' && !Array.isArray(b);
    if (objA && objB && path.split('.').length < 2) {
      const keys = new Set([...Object.keys(a as object), ...Object.keys(b as object)]);
      for (const k of keys) {
        if (!path && ignore.has(k)) continue;
        walk((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], path ? `${path}.${k}` : k);
      }
    } else if (JSON.stringify(a) !== JSON.stringify(b)) out.push(path);
  };
  walk(before, after, '');
  return out;
}

/** One notification: its current facts, every version with what it changed, the linked file. */
export async function notificationDetail(ctx: GateContext, deps: InboxDeps & { persons: Persons }, id: string) {
  const row = await rowOf(ctx, id);
  const seal = await InboxSeal.of(ctx, deps.keyring, row.department_id);
  const versions = await ctx.tx
    .selectFrom('demis_notification_versions')
    .select(['version', 'bundle_id', 'status', 'relates_code', 'notified_at', 'received_at', 'source', 'parsed_enc'])
    .where('notification_row_id', '=', id)
    .where('tenant_id', '=', ctx.principal.tenantId)
    .execute();
  const facts = new Map(versions.map((v) => [v.version, seal.openParsed(versionRowId(id, v.version), v.parsed_enc)]));
  // "What changed" follows the order the facts apply in: by Composition.date, then arrival.
  const ordered = [...versions].sort((a, b) =>
    a.notified_at === b.notified_at ? a.version - b.version : a.notified_at < b.notified_at ? -1 : 1,
  );
  const changes = new Map<number, string[]>();
  ordered.forEach((v, i) => {
    changes.set(v.version, i === 0 ? [] : changedFacts(facts.get(ordered[i - 1]!.version)!, facts.get(v.version)!));
  });
  const names = await displayNames(ctx, deps.keyring, [row.assignee_id]);
  const current = facts.get(row.current_version)!;
  const linked = row.person_id ? (await deps.persons.identify(ctx, [row.person_id]))[0] : undefined;
  ctx.audit.detail = { versions: versions.length };
  return {
    ...itemOf(row, current, names, await hiddenCases(ctx, [row.case_record_id])),
    notificationId: row.notification_id,
    facts: current,
    versions: versions
      .sort((a, b) => b.version - a.version)
      .map((v) => ({
        version: v.version,
        bundleId: v.bundle_id,
        status: v.status,
        relatesCode: v.relates_code,
        notifiedAt: v.notified_at,
        receivedAt: v.received_at,
        source: v.source as 'demis' | 'upload',
        current: v.version === row.current_version,
        changes: changes.get(v.version)!,
        facts: facts.get(v.version)!,
      })),
    linkedPerson: linked
      ? { id: linked.id, familyName: linked.familyName, givenName: linked.givenName, birthDate: linked.birthDate }
      : null,
    closeReason: row.close_reason_enc ? seal.openReason('demis_notifications', id, row.close_reason_enc) : null,
    permissions: { createPerson: ctx.may('person.create') },
  };
}

/** The current facts of a notification, for matching and accepting. */
export async function currentFacts(ctx: GateContext, deps: InboxDeps, id: string) {
  const row = await rowOf(ctx, id);
  const v = await ctx.tx
    .selectFrom('demis_notification_versions')
    .select('parsed_enc')
    .where('notification_row_id', '=', id)
    .where('version', '=', row.current_version)
    .executeTakeFirstOrThrow();
  const seal = await InboxSeal.of(ctx, deps.keyring, row.department_id);
  return { row, facts: seal.openParsed(versionRowId(id, row.current_version), v.parsed_enc) };
}

/** A version's raw bundle as received (the current one unless `version` is named). */
export async function notificationBundle(ctx: GateContext, deps: InboxDeps, id: string, version?: number) {
  const row = await rowOf(ctx, id);
  const wanted = version ?? row.current_version;
  const v = await ctx.tx
    .selectFrom('demis_notification_versions')
    .select(['bundle_enc', 'media_type'])
    .where('notification_row_id', '=', id)
    .where('version', '=', wanted)
    .executeTakeFirst();
  if (!v) throw new KarteiError('not-found');
  const seal = await InboxSeal.of(ctx, deps.keyring, row.department_id);
  ctx.audit.detail = { version: wanted };
  return {
    raw: seal.openBundle('demis_notification_versions', versionRowId(id, wanted), v.bundle_enc),
    mediaType: v.media_type,
  };
}

/** Writes `set` on top of edit version `version`; a stale one answers 409 with the current version. */
async function edit(ctx: GateContext, row: Row, version: number, set: Partial<Row>) {
  if (row.version !== version) throw stale(row.version);
  const moved = await ctx.tx
    .updateTable('demis_notifications')
    .set({ ...set, version: version + 1, updated_at: ctx.now })
    .where('id', '=', row.id)
    .where('version', '=', version)
    .executeTakeFirst();
  if (Number(moved.numUpdatedRows) !== 1) throw stale(version + 1);
  const next = { ...row, ...set, version: version + 1 };
  return {
    id: row.id,
    version: next.version,
    state: next.state as NotificationState,
    personId: next.person_id,
    caseRecordId: shownCase(next.case_record_id, await hiddenCases(ctx, [next.case_record_id])),
  };
}

const closed = () => fieldRefused('conflict', 'state', 'notification-closed', 'The notification is closed already');

/** Who a notification of the department may be assigned to: its active members, by name. */
export async function inboxMembers(ctx: GateContext, deps: InboxDeps) {
  const departmentId = decidedDepartment(ctx);
  const rows = await ctx.tx
    .selectFrom('memberships')
    .innerJoin('users', 'users.id', 'memberships.user_id')
    .select('memberships.user_id')
    .distinct()
    .where('memberships.department_id', '=', departmentId)
    .where('users.tenant_id', '=', ctx.principal.tenantId)
    .where('users.active', '=', 1)
    .execute();
  const names = await displayNames(
    ctx,
    deps.keyring,
    rows.map((r) => r.user_id),
  );
  return rows
    .map((r) => ({ id: r.user_id, displayName: names.get(r.user_id) ?? r.user_id }))
    .sort((a, b) => a.displayName.localeCompare(b.displayName, 'de'));
}

/** Assigns the notification to a member of its department, or to nobody. */
export async function assignNotification(
  ctx: GateContext,
  id: string,
  input: { assigneeId: string | null; version: number },
) {
  const row = await rowOf(ctx, id);
  if (input.assigneeId) {
    const member = await ctx.tx
      .selectFrom('memberships')
      .innerJoin('users', 'users.id', 'memberships.user_id')
      .select('memberships.user_id')
      .where('memberships.user_id', '=', input.assigneeId)
      .where('memberships.department_id', '=', row.department_id)
      .where('users.tenant_id', '=', ctx.principal.tenantId)
      .where('users.active', '=', 1)
      .executeTakeFirst();
    if (!member)
      throw fieldRefused(
        'validation-failed',
        'assigneeId',
        'not-member',
        "must be an active member of the notification's department",
      );
  }
  const state =
    row.state === 'new' && input.assigneeId
      ? 'assigned'
      : row.state === 'assigned' && !input.assigneeId
        ? 'new'
        : row.state;
  ctx.audit.detail = { assigned: input.assigneeId !== null };
  return edit(ctx, row, input.version, { assignee_id: input.assigneeId, state });
}

/**
 * Links the notification to the file of its person: an existing file of the notification's own
 * department, or a new one made from the data a person checked (a partial birth date completed).
 */
export async function linkPerson(
  ctx: GateContext,
  deps: { persons: Persons },
  id: string,
  input: { personId: string; version: number } | { create: PersonData; version: number },
) {
  const row = await rowOf(ctx, id);
  if (row.state === 'closed') throw closed();
  if (row.version !== input.version) throw stale(row.version);
  let personId: string;
  if ('create' in input) {
    if (!ctx.may('person.create')) throw new KarteiError('forbidden');
    personId = await deps.persons.create(ctx, row.department_id, input.create);
    ctx.audit.detail = { created: true };
  } else {
    const file = await ctx.tx
      .selectFrom('persons')
      .select('department_id')
      .where('id', '=', input.personId)
      .where('tenant_id', '=', ctx.principal.tenantId)
      .executeTakeFirst();
    // Another department's file is not named: it is "no file of this department", like one that does not exist.
    if (!file || file.department_id !== row.department_id)
      throw fieldRefused(
        'validation-failed',
        'personId',
        'not-in-department',
        "must be a file of the notification's department",
      );
    // Issue 16: seams — a file merged into another takes no notification (410 naming where it went).
    // Looked at while holding the file's writes, as a merge does: a merge at the same moment either
    // finds the notification linked and moves it to the survivor, or has ended and is seen here (PostgreSQL).
    await lockFile(ctx, input.personId);
    await refuseMerged(ctx, input.personId);
    personId = input.personId;
  }
  ctx.audit.personId = personId;
  return edit(ctx, row, input.version, { person_id: personId, state: 'matched' });
}

/** Closes a notification that needs no case (e.g. a duplicate from another laboratory), with the reason sealed. */
export async function closeNotification(
  ctx: GateContext,
  deps: InboxDeps,
  id: string,
  input: { reason: string; version: number },
) {
  const row = await rowOf(ctx, id);
  if (row.state === 'closed') throw closed();
  const seal = await InboxSeal.of(ctx, deps.keyring, row.department_id);
  ctx.audit.reason = input.reason;
  return edit(ctx, row, input.version, {
    state: 'closed',
    close_reason_enc: seal.reason('demis_notifications', id, input.reason),
  });
}

/**
 * Closes the notification as accepted, on top of edit version `version` (in the transaction that
 * writes the case): a second accept finds the version moved on. `caseAccepted` then names the case.
 */
export async function markAccepted(ctx: GateContext, id: string, version: number) {
  const row = await rowOf(ctx, id);
  if (row.state === 'closed') throw closed();
  return edit(ctx, row, version, { state: 'closed', case_review: 0 });
}

export async function caseAccepted(ctx: GateContext, id: string, caseRecordId: string) {
  await ctx.tx
    .updateTable('demis_notifications')
    .set({ case_record_id: caseRecordId })
    .where('id', '=', id)
    .where('tenant_id', '=', ctx.principal.tenantId)
    .execute();
}

/** The department's quarantine, newest first. */
export async function listQuarantine(
  ctx: GateContext,
  page: { state?: 'open' | 'dismissed'; limit: number; before?: string },
) {
  const departmentId = decidedDepartment(ctx);
  let q = ctx.tx
    .selectFrom('demis_quarantine')
    .select(['id', 'department_id', 'received_at', 'source', 'media_type', 'problem_count', 'state'])
    .where('tenant_id', '=', ctx.principal.tenantId)
    .where('department_id', '=', departmentId);
  if (page.state) q = q.where('state', '=', page.state);
  const cursor = page.before ? decodeCursor(page.before) : null;
  if (cursor) q = q.where((eb) => eb(eb.refTuple('received_at', 'id'), '<', eb.tuple(cursor.at, cursor.id)));
  const rows = await q
    .orderBy('received_at', 'desc')
    .orderBy('id', 'desc')
    .limit(page.limit + 1)
    .execute();
  const { rows: shown, next } = pageOf(rows, page.limit, (r) => ({ at: r.received_at, id: r.id }));
  ctx.audit.detail = { count: shown.length };
  return {
    items: shown.map((r) => ({
      id: r.id,
      departmentId: r.department_id,
      receivedAt: r.received_at,
      source: r.source as 'demis' | 'upload',
      mediaType: r.media_type,
      problemCount: r.problem_count,
      state: r.state as 'open' | 'dismissed',
    })),
    next,
  };
}

/** One quarantined bundle: its reasons and the bytes as received. */
export async function readQuarantine(ctx: GateContext, deps: InboxDeps, id: string) {
  const r = await ctx.tx
    .selectFrom('demis_quarantine')
    .selectAll()
    .where('id', '=', id)
    .where('tenant_id', '=', ctx.principal.tenantId)
    .executeTakeFirst();
  if (!r) throw new KarteiError('not-found');
  const seal = await InboxSeal.of(ctx, deps.keyring, r.department_id);
  const names = await displayNames(ctx, deps.keyring, [r.decided_by]);
  return {
    id: r.id,
    departmentId: r.department_id,
    receivedAt: r.received_at,
    source: r.source as 'demis' | 'upload',
    mediaType: r.media_type,
    problemCount: r.problem_count,
    state: r.state as 'open' | 'dismissed',
    problems: seal.openProblems(id, r.problems_enc),
    raw: seal.openBundle('demis_quarantine', id, r.bundle_enc).toString('utf8'),
    decidedAt: r.decided_at,
    decidedByName: r.decided_by ? (names.get(r.decided_by) ?? null) : null,
    reason: r.decision_enc ? seal.openReason('demis_quarantine', id, r.decision_enc) : null,
  };
}

/** Dismisses a quarantined bundle with a reason (sealed); the entry and its bytes stay. */
export async function dismissQuarantine(ctx: GateContext, deps: InboxDeps, id: string, reason: string) {
  const seal = await InboxSeal.of(ctx, deps.keyring, ctx.target.departmentId!);
  const moved = await ctx.tx
    .updateTable('demis_quarantine')
    .set({
      state: 'dismissed',
      decided_by: ctx.principal.userId,
      decided_at: ctx.now,
      decision_enc: seal.reason('demis_quarantine', id, reason),
    })
    .where('id', '=', id)
    .where('tenant_id', '=', ctx.principal.tenantId)
    .where('state', '=', 'open')
    .executeTakeFirst();
  if (Number(moved.numUpdatedRows) !== 1)
    throw fieldRefused('conflict', 'state', 'already-decided', 'This entry has been dismissed already');
  ctx.audit.reason = reason;
}
