// An access report in plain words (issue 14): turns one person's audit events into
// lines a citizen can read — who (name, role, department, or the device), what
// ("hat die Akte geöffnet", "hat 3 Einträge gelesen", "hat 9 Bilder angesehen"),
// when, and on what ground (own department, a share for its purpose, an emergency
// access with its reason, the DPO's oversight). Repeated reads of one visit (same
// actor, same file, same act, same ground, each within VISIT_MS of the last) are
// folded into one line with a count. Events that were no access — a request refused
// before anything was read, a piece of work that failed and was undone — are left
// out and counted. Pure: the facts come in (access-report.ts reads them), codes
// and parameters go out, and the screens and the PDF word them (narrative-text.ts).
import type { AccessAct, AccessGround, AccessLine } from '../contract/audit.ts';

/** Events of one actor on one file this close together are one visit. */
export const VISIT_MS = 30 * 60_000;

export interface NarrativeEvent {
  at: string;
  actorId: string | null;
  action: string;
  outcome: 'allowed' | 'denied' | 'error';
  personId: string;
  resourceId: string | null;
  detail: Record<string, string | number | boolean> | null;
}

export type ActorFacts =
  | {
      kind: 'user';
      name: string;
      tenantRoles: readonly string[];
      memberships: readonly { departmentId: string; role: string }[];
    }
  | { kind: 'device'; name: string; departmentId: string }
  // Issue 16: seams — the DEMIS connection of a department (its notifications arriving for a file)
  | { kind: 'demis'; departmentId: string };

interface ShareFacts {
  id: string;
  personId: string;
  toDepartmentId: string;
  purpose: string;
  from: string;
  until: string;
  revokedAt: string | null;
}

/** A break-glass grant, or an emergency search's hit (the window its handles were valid). */
interface EmergencyFacts {
  id: string;
  personId: string;
  userId: string;
  reason: string;
  from: string;
  until: string;
}

export interface NarrativeFacts {
  /** The department keeping each file. */
  fileDepartment: ReadonlyMap<string, string>;
  departmentName: (id: string | null | undefined) => string;
  actors: ReadonlyMap<string, ActorFacts>;
  shares: readonly ShareFacts[];
  grants: readonly EmergencyFacts[];
  searches: readonly EmergencyFacts[];
}

/** What each action did, in the report's words; an action not listed is "accessed the file". */
const ACTS: Record<string, AccessAct> = {
  'person.read': 'file.opened',
  'record.list': 'file.opened',
  'study.list': 'file.opened',
  'person.create': 'file.created',
  'person.update': 'file.updated',
  'person.search': 'file.found',
  'person.emergency-search': 'file.found-emergency',
  'audit.person-search': 'file.found-dpo',
  'file.share': 'file.shared',
  'share.revoke': 'share.ended',
  'share.list': 'shares.viewed',
  'record.read': 'records.read',
  'record.versions': 'records.versions',
  'record.create': 'records.created',
  'record.update': 'records.updated',
  'record.delete': 'records.deleted',
  'study.read': 'images.viewed',
  'study.search': 'images.found',
  'study.link': 'images.linked',
  'study.store': 'images.stored',
  'dicom.store': 'images.stored',
  'dicom.find': 'images.found',
  'dicom.retrieve': 'images.sent',
  'person.break-glass': 'emergency.opened',
  'review.decide': 'emergency.reviewed',
  'break-glass.revoke': 'emergency.ended',
  'person.access-log': 'report.viewed',
  'person.access-report': 'report.viewed',
  'audit.access-report': 'report.viewed',
  // Issue 16: person merge
  'person.merge': 'file.merged',
  'person.merge-confirm': 'file.merge-confirmed',
  'person.merge-undo': 'file.merge-undone',
  // Issue 16: transmission — the case data of the file went to the state authority (§11 IfSG)
  'transmission.create': 'file.transmitted',
  // Issue 16: seams — a notification (a new version of one linked to the file) arrived through DEMIS
  'notification.import': 'file.notified',
  // Issue 17: walk — the desk. Department acts that never name a file are in NO_FILE_ACTIONS.
  'task.list': 'tasks.viewed',
  'task.worklist': 'tasks.listed',
  'task.create': 'tasks.created',
  'task.update': 'tasks.updated',
  'document.list': 'documents.viewed',
  'document.read': 'documents.read',
  'document.add': 'documents.added',
  'document.delete': 'documents.deleted',
  'letter.generate': 'letters.generated',
  'letter.run': 'letters.listed',
  'mailroom.assign': 'mail.assigned',
  'import.run': 'file.imported',
};

/** The acts an action is worded as (the report's own mapping; an action not listed is "accessed the file"). */
export const actOf = (action: string): AccessAct => ACTS[action] ?? 'file.other';

/**
 * Issue 17: walk — desk actions audited on a department or the office that never name a file (no
 * person, no hits): a worklist of runs, a template, a scan not yet in a file, an import's settings.
 * Should one ever name a file, it reads "accessed the file" — and the narrative test fails until worded.
 */
export const NO_FILE_ACTIONS: ReadonlySet<string> = new Set([
  'letter.templates',
  'letter.bulk',
  'letter.runs',
  'mailroom.list',
  'mailroom.upload',
  'mailroom.read',
  'mailroom.delete',
  'import.create',
  'import.list',
  'import.read',
  'import.update',
]);

/** Acts whose count is of distinct records, not of events (reading one entry twice is one entry read). */
const DISTINCT: ReadonlySet<AccessAct> = new Set([
  'records.read',
  'records.versions',
  'records.created',
  'records.updated',
  'records.deleted',
  // Issue 17: walk — documents by the document (an addition is decided on the file: counted by the event)
  'documents.read',
  'documents.deleted',
]);
/** Acts the DPO does as overseer, without any relation to the file. */
const OVERSIGHT: ReadonlySet<AccessAct> = new Set([
  'report.viewed',
  'shares.viewed',
  'file.found-dpo',
  'emergency.reviewed',
  'emergency.ended',
]);

/** Whether an event is an access (or an attempt at one) to report; the rest are left out and counted. */
const isAccess = (e: NarrativeEvent) => e.outcome !== 'error' && e.action !== 'request.refused';

/** How much of its act one event adds: images by instance count (metadata: none), a file opening by its person.read. */
function amount(e: NarrativeEvent, act: AccessAct): number {
  if (act === 'images.viewed') return e.detail?.what === 'metadata' ? 0 : Number(e.detail?.instances ?? 1) || 1;
  if (act === 'file.opened') return e.action === 'person.read' ? 1 : 0;
  return 1;
}

interface Open {
  line: AccessLine;
  last: number;
  distinct: Set<string>;
}

/** The report's lines, oldest first, from the events of the files it covers (any order). */
export function narrate(
  events: readonly NarrativeEvent[],
  facts: NarrativeFacts,
): { lines: AccessLine[]; leftOut: number } {
  const sorted = [...events].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  const open = new Map<string, Open>();
  const lines: AccessLine[] = [];
  const distinctOf = new Map<AccessLine, Set<string>>();
  let leftOut = 0;
  for (const e of sorted) {
    if (!isAccess(e)) {
      leftOut++;
      continue;
    }
    const act = ACTS[e.action] ?? 'file.other';
    const outcome = e.outcome === 'denied' ? 'denied' : 'allowed';
    const fileDepartmentId = facts.fileDepartment.get(e.personId) ?? null;
    const actor = e.actorId ? facts.actors.get(e.actorId) : undefined;
    const found = outcome === 'allowed' ? groundOf(e, act, actor, fileDepartmentId, facts) : null;
    const key = [e.actorId, e.personId, act, outcome, found?.key ?? ''].join('|');
    const t = Date.parse(e.at);
    const prev = open.get(key);
    if (prev && t - prev.last <= VISIT_MS) {
      prev.last = t;
      prev.line.until = e.at;
      if (DISTINCT.has(act)) prev.distinct.add(e.resourceId ?? e.at);
      else prev.line.count += amount(e, act);
      continue;
    }
    const line: AccessLine = {
      at: e.at,
      until: e.at,
      fileDepartment: facts.departmentName(fileDepartmentId),
      actor: actorOf(actor, found, fileDepartmentId, facts),
      act,
      count: DISTINCT.has(act) ? 0 : amount(e, act),
      outcome,
      ground: found?.ground ?? null,
    };
    const distinct = new Set(DISTINCT.has(act) ? [e.resourceId ?? e.at] : []);
    distinctOf.set(line, distinct);
    open.set(key, { line, last: t, distinct });
    lines.push(line);
  }
  for (const line of lines) {
    if (DISTINCT.has(line.act)) line.count = distinctOf.get(line)!.size;
    if (line.act === 'images.viewed' && line.count === 0) line.act = 'images.metadata';
    if (line.act === 'file.opened') line.count = Math.max(1, line.count);
  }
  return { lines, leftOut };
}

/** The ground of an allowed access, a key that keeps accesses on different grounds apart, and the department it came through. */
interface Ground {
  ground: AccessGround;
  key: string;
  via?: string;
}

/** The ground of an allowed access (null for a refused one). */
function groundOf(
  e: NarrativeEvent,
  act: AccessAct,
  actor: ActorFacts | undefined,
  fileDepartmentId: string | null,
  facts: NarrativeFacts,
): Ground {
  const name = facts.departmentName;
  if (!actor) return { ground: { kind: 'unknown' }, key: 'unknown' };
  if (actor.kind === 'device')
    return { ground: { kind: 'device', department: name(actor.departmentId) }, key: 'device' };
  if (actor.kind === 'demis') return { ground: { kind: 'demis', department: name(actor.departmentId) }, key: 'demis' };
  const within = (w: { from: string; until: string }) => w.from <= e.at && e.at <= w.until;
  if (act === 'file.found-emergency') {
    const search = facts.searches.find((s) => s.userId === e.actorId && s.personId === e.personId && within(s));
    return {
      ground: { kind: 'emergency-search', ...(search ? { text: search.reason } : {}) },
      key: `search:${search?.id ?? ''}`,
    };
  }
  const memberOf = new Set(actor.memberships.map((m) => m.departmentId));
  const dpo = actor.tenantRoles.includes('dpo');
  if (OVERSIGHT.has(act) && dpo && !(fileDepartmentId && memberOf.has(fileDepartmentId)))
    return { ground: { kind: 'dpo' }, key: 'dpo' };
  if (act === 'emergency.opened' || !(fileDepartmentId && memberOf.has(fileDepartmentId))) {
    const grant = facts.grants.find((g) => g.userId === e.actorId && g.personId === e.personId && within(g));
    if (grant && act === 'emergency.opened')
      return { ground: { kind: 'emergency', text: grant.reason }, key: `grant:${grant.id}` };
    const share = facts.shares.find(
      (s) =>
        s.personId === e.personId &&
        memberOf.has(s.toDepartmentId) &&
        s.from <= e.at &&
        e.at < s.until &&
        (s.revokedAt === null || e.at < s.revokedAt),
    );
    if (share)
      return {
        ground: { kind: 'share', department: name(share.toDepartmentId), text: share.purpose },
        key: `share:${share.id}`,
        via: share.toDepartmentId,
      };
    if (grant) return { ground: { kind: 'emergency', text: grant.reason }, key: `grant:${grant.id}` };
    if (dpo) return { ground: { kind: 'dpo' }, key: 'dpo' };
    return { ground: { kind: 'unknown' }, key: 'unknown' };
  }
  return {
    ground: { kind: 'department', department: name(fileDepartmentId) },
    key: 'department',
    via: fileDepartmentId,
  };
}

const ROLE_RANK = ['clerk', 'physician', 'head'];

/** The actor as the line names it: the role and department through which it acted. */
function actorOf(
  actor: ActorFacts | undefined,
  found: Ground | null,
  fileDepartmentId: string | null,
  facts: NarrativeFacts,
): AccessLine['actor'] {
  if (!actor) return { kind: 'unknown', name: '', role: null, department: null };
  if (actor.kind === 'device')
    return { kind: 'device', name: actor.name, role: null, department: facts.departmentName(actor.departmentId) };
  if (actor.kind === 'demis')
    return { kind: 'demis', name: '', role: null, department: facts.departmentName(actor.departmentId) };
  const by = (departmentId: string | null) => actor.memberships.find((m) => m.departmentId === departmentId);
  const highest = [...actor.memberships].sort((a, b) => ROLE_RANK.indexOf(b.role) - ROLE_RANK.indexOf(a.role))[0];
  const via = (found?.via ? by(found.via) : undefined) ?? by(fileDepartmentId) ?? highest;
  if ((found?.ground.kind === 'dpo' || !via) && actor.tenantRoles.includes('dpo'))
    return { kind: 'user', name: actor.name, role: 'dpo', department: null };
  if (!via)
    return {
      kind: 'user',
      name: actor.name,
      role: actor.tenantRoles.includes('admin') ? 'admin' : null,
      department: null,
    };
  return {
    kind: 'user',
    name: actor.name,
    role: via.role as 'clerk' | 'physician' | 'head',
    department: facts.departmentName(via.departmentId),
  };
}
