// An access report (Art. 15 GDPR) over one or more files of one person: reads the
// files' audit events and the facts that word them — who the actors are (users'
// names are sealed and opened here; devices by their AE title), the departments'
// names, the shares with their purposes and the emergency accesses with their
// reasons (sealed too) — and hands them to the pure narrative (access-narrative.ts).
// Called inside the gate only (it takes a GateContext), after the policy allowed
// the report on every file it covers. Also the DPO's two steps before it: finding
// a person's files in every department, and the report over the files chosen.
import type { GateContext } from '../access/gate.ts';
import { demisActorDepartment, type AccessReportAnswer, type DisclosureHit } from '../contract/audit.ts';
import { KarteiError, fieldRefused } from '../errors.ts';
import { listUsers } from '../identity/users.ts';
import { grantReasonBinding, searchReasonBinding } from '../records/break-glass.ts';
import type { Persons } from '../records/persons.ts';
import { purposeBinding } from '../records/sharing.ts';
import type { Keyring } from '../vault/keyring.ts';
import { openField } from '../vault/keyring.ts';
import { narrate, type ActorFacts, type NarrativeEvent } from './access-narrative.ts';

/**
 * The DPO's search for a person's files in every department by family name and birth date:
 * on the record the count and each file shown (never what was typed); the answer only what
 * identifies the files.
 */
export async function findFilesForDisclosure(
  ctx: GateContext,
  persons: Persons,
  familyName: string,
  birthDate: string,
  limit: number,
): Promise<DisclosureHit[]> {
  const found = await persons.findForDisclosure(ctx, familyName, birthDate, limit);
  const departments = await ctx.tx
    .selectFrom('departments')
    .select(['id', 'name'])
    .where('tenant_id', '=', ctx.principal.tenantId)
    .execute();
  const name = new Map(departments.map((d) => [d.id, d.name]));
  ctx.audit.detail = { results: found.length };
  ctx.audit.hits = found.map((p) => ({ personId: p.id, departmentId: p.departmentId }));
  return found.map((p) => ({
    id: p.id,
    familyName: p.familyName,
    givenName: p.givenName,
    birthDate: p.birthDate,
    departmentId: p.departmentId,
    departmentName: name.get(p.departmentId) ?? '',
  }));
}

/**
 * The DPO's report over the files chosen: the decision is the DPO's, each file gets its
 * event. One letter answers one person: files of another birth date are refused.
 */
export async function reportOverFiles(
  ctx: GateContext,
  keyring: Keyring,
  persons: Persons,
  personIds: string[],
  format: string,
): Promise<AccessReportAnswer> {
  const files = await ctx.tx
    .selectFrom('persons')
    .select(['id', 'department_id'])
    .where('tenant_id', '=', ctx.principal.tenantId)
    .where('id', 'in', personIds)
    .execute();
  if (files.length !== personIds.length) throw new KarteiError('not-found', 'no such file');
  ctx.audit.detail = { files: files.length, format };
  ctx.audit.hits = files.map((f) => ({ personId: f.id, departmentId: f.department_id }));
  const report = await accessReport(ctx, keyring, persons, personIds);
  // One letter answers one person: files of another birth date would tell them who read someone else's file.
  if (new Set(report.persons.map((p) => p.birthDate)).size > 1) {
    throw fieldRefused(
      'validation-failed',
      'querystring.persons',
      'different-persons',
      "the files are not one person's: their birth dates differ",
    );
  }
  return report;
}

export async function accessReport(
  ctx: GateContext,
  keyring: Keyring,
  persons: Persons,
  personIds: string[],
): Promise<AccessReportAnswer> {
  const { tx } = ctx;
  const tenantId = ctx.principal.tenantId;
  const ids = personIds.length ? personIds : [''];
  const [files, events, departments, office] = await Promise.all([
    persons.identify(ctx, personIds),
    tx
      .selectFrom('audit_events')
      .select(['at', 'actor_id', 'action', 'outcome', 'person_id', 'resource_id', 'detail'])
      .where('tenant_id', '=', tenantId)
      .where('person_id', 'in', ids)
      .orderBy('seq')
      .execute(),
    tx.selectFrom('departments').select(['id', 'name']).where('tenant_id', '=', tenantId).execute(),
    tx.selectFrom('tenants').select('name').where('id', '=', tenantId).executeTakeFirstOrThrow(),
  ]);
  const departmentNames = new Map(departments.map((d) => [d.id, d.name]));
  const departmentName = (id: string | null | undefined) => (id && departmentNames.get(id)) || '—';

  const actorIds = [...new Set(events.flatMap((e) => (e.actor_id ? [e.actor_id] : [])))];
  const actors = new Map<string, ActorFacts>();
  for (const u of await listUsers(ctx, keyring, actorIds)) {
    actors.set(u.id, { kind: 'user', name: u.displayName, tenantRoles: u.tenantRoles, memberships: u.memberships });
  }
  const deviceIds = actorIds.filter((id) => !actors.has(id));
  if (deviceIds.length) {
    const devices = await tx
      .selectFrom('devices')
      .select(['id', 'ae_title', 'department_id'])
      .where('tenant_id', '=', tenantId)
      .where('id', 'in', deviceIds)
      .execute();
    for (const d of devices) actors.set(d.id, { kind: 'device', name: d.ae_title, departmentId: d.department_id });
  }
  // Issue 16: seams — the DEMIS connection's own principal
  for (const id of actorIds) {
    const departmentId = demisActorDepartment(id);
    if (departmentId) actors.set(id, { kind: 'demis', departmentId });
  }

  const key = await keyring.tenantKey(tx, tenantId);
  const [shares, grants, hits] = await Promise.all([
    tx.selectFrom('shares').selectAll().where('tenant_id', '=', tenantId).where('person_id', 'in', ids).execute(),
    tx.selectFrom('break_glass').selectAll().where('tenant_id', '=', tenantId).where('person_id', 'in', ids).execute(),
    tx
      .selectFrom('emergency_hits')
      .innerJoin('emergency_searches', 'emergency_searches.id', 'emergency_hits.search_id')
      .select([
        'emergency_searches.id',
        'emergency_hits.person_id',
        'emergency_hits.user_id',
        'emergency_searches.reason_enc',
        'emergency_searches.created_at',
        'emergency_searches.expires_at',
      ])
      .where('emergency_hits.tenant_id', '=', tenantId)
      .where('emergency_hits.person_id', 'in', ids)
      .execute(),
  ]);

  /** A grant or an emergency search as the narrative tells it, its reason unsealed. */
  const emergencyAccess =
    (binding: typeof grantReasonBinding) =>
    (r: {
      id: string;
      person_id: string;
      user_id: string;
      reason_enc: Buffer;
      created_at: string;
      expires_at: string;
    }) => ({
      id: r.id,
      personId: r.person_id,
      userId: r.user_id,
      reason: openField<string>(key, binding(tenantId, r.id), r.reason_enc),
      from: r.created_at,
      until: r.expires_at,
    });
  const narrativeEvents: NarrativeEvent[] = events.map((e) => ({
    at: e.at,
    actorId: e.actor_id,
    action: e.action,
    outcome: e.outcome as NarrativeEvent['outcome'],
    personId: e.person_id!,
    resourceId: e.resource_id,
    detail: e.detail ? (JSON.parse(e.detail) as NarrativeEvent['detail']) : null,
  }));
  const { lines, leftOut } = narrate(narrativeEvents, {
    fileDepartment: new Map(files.map((f) => [f.id, f.departmentId])),
    departmentName,
    actors,
    shares: shares.map((s) => ({
      id: s.id,
      personId: s.person_id,
      toDepartmentId: s.to_department_id,
      purpose: openField<string>(key, purposeBinding(tenantId, s.id), s.purpose_enc),
      from: s.created_at,
      until: s.until,
      revokedAt: s.revoked_at,
    })),
    grants: grants.map(emergencyAccess(grantReasonBinding)),
    searches: hits.map(emergencyAccess(searchReasonBinding)),
  });
  return {
    office: office.name,
    madeAt: ctx.now,
    persons: files
      .map((f) => ({
        familyName: f.familyName,
        givenName: f.givenName,
        birthDate: f.birthDate,
        department: departmentName(f.departmentId),
      }))
      .sort((a, b) => a.department.localeCompare(b.department, 'de')),
    lines,
    leftOut,
  };
}
