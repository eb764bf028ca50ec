// Answers about the audit log and oversight: log entries, access counts, the chain's
// status, access reports (Art. 15 GDPR), the DPO's file search, the security report.
// zod schemas the server checks its answers against; the browser reads their types.
import { z } from 'zod';

export const auditEntry = z.strictObject({
  seq: z.number(),
  at: z.string(),
  actorId: z.string().nullable(),
  /** The actor's display name, when the actor is a user of the office. */
  actorName: z.string().nullable(),
  /** Issue 16: seams — set when the DEMIS connection acted (its own principal, or a scheduled poll): no user. */
  actorService: z.literal('demis').optional(),
  action: z.string(),
  resourceType: z.string(),
  resourceId: z.string().nullable(),
  personId: z.string().nullable(),
  outcome: z.enum(['allowed', 'denied', 'error']),
  reason: z.string().nullable(),
  /**
   * Non-personal facts of the event (ids, role names, counts, codes), e.g. the
   * roles and memberships a grant gave or took, a result count, a refusal's code.
   */
  detail: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).nullable(),
});

// Issue 16: seams
/** The DEMIS connection acts as a principal of its own, `demis:<departmentId>` (src/infection/notification-import.ts). */
export const demisActorId = (departmentId: string) => `demis:${departmentId}`;

/** The department whose DEMIS connection an actor id is, else null. */
export const demisActorDepartment = (actorId: string | null): string | null =>
  actorId?.startsWith('demis:') ? actorId.slice('demis:'.length) : null;

/** Whether an audit event was the DEMIS connection's: its principal acted, or a poll ran on schedule (no actor). */
export const byDemis = (e: { actorId: string | null; action: string }) =>
  demisActorDepartment(e.actorId) !== null || (e.action === 'demis.poll' && e.actorId === null);

export const accessCount = z.strictObject({
  /** The UTC day, YYYY-MM-DD. */
  day: z.string(),
  departmentId: z.string().nullable(),
  count: z.number(),
});

export const auditStatus = z.strictObject({
  ok: z.boolean(),
  verifiedUpTo: z.number(),
  firstBad: z.strictObject({ seq: z.number(), problem: z.string() }).nullable(),
  lastCheckpoint: z.strictObject({ seq: z.number(), at: z.string() }).nullable(),
});

/** A file the DPO's search for an access report found: what identifies it, nothing of its contents. */
export const disclosureHit = z.strictObject({
  id: z.string(),
  familyName: z.string(),
  givenName: z.string(),
  birthDate: z.string(),
  departmentId: z.string(),
  departmentName: z.string(),
});

/** What a line of an access report says was done (src/audit/access-narrative.ts maps the actions). */
const accessAct = z.enum([
  'file.opened',
  'file.created',
  'file.updated',
  'file.found',
  'file.found-emergency',
  'file.found-dpo',
  'file.shared',
  'file.other',
  'records.read',
  'records.versions',
  'records.created',
  'records.updated',
  'records.deleted',
  'images.viewed',
  'images.metadata',
  'images.found',
  'images.stored',
  'images.sent',
  'images.linked',
  'shares.viewed',
  'share.ended',
  'emergency.opened',
  'emergency.reviewed',
  'emergency.ended',
  'report.viewed',
  // Issue 16: person merge
  'file.merged',
  'file.merge-confirmed',
  'file.merge-undone',
  // Issue 16: transmission
  'file.transmitted',
  // Issue 16: seams
  'file.notified',
  // Issue 17: walk — the desk's acts on a file (tasks, documents, letters, mail-room, import)
  'tasks.viewed',
  'tasks.listed',
  'tasks.created',
  'tasks.updated',
  'documents.viewed',
  'documents.read',
  'documents.added',
  'documents.deleted',
  'letters.generated',
  'letters.listed',
  'mail.assigned',
  'file.imported',
]);

/** On what ground an access was made: the file's own department, a share for a purpose, an emergency access with its reason, the DPO's oversight. */
const accessGround = z.strictObject({
  kind: z.enum(['department', 'share', 'emergency', 'emergency-search', 'dpo', 'device', 'demis', 'unknown']),
  /** The department whose membership or share gave the access. */
  department: z.string().optional(),
  /** A share's purpose, or an emergency access's reason. */
  text: z.string().optional(),
});

/** One line of an access report: who did what to which department's file, when, on what ground; repeated reads of one visit folded. */
const accessLine = z.strictObject({
  /** The first and the last event folded into the line. */
  at: z.string(),
  until: z.string(),
  /** The department keeping the file. */
  fileDepartment: z.string(),
  actor: z.strictObject({
    kind: z.enum(['user', 'device', 'demis', 'unknown']),
    name: z.string(),
    role: z.enum(['clerk', 'physician', 'head', 'dpo', 'admin']).nullable(),
    department: z.string().nullable(),
  }),
  act: accessAct,
  count: z.number(),
  outcome: z.enum(['allowed', 'denied']),
  /** Null for a refused attempt (it had none). */
  ground: accessGround.nullable(),
});

/** An access report (Art. 15 GDPR) over one or more files of one person. */
export const accessReportAnswer = z.strictObject({
  office: z.string(),
  madeAt: z.string(),
  persons: z.array(
    z.strictObject({ familyName: z.string(), givenName: z.string(), birthDate: z.string(), department: z.string() }),
  ),
  lines: z.array(accessLine),
  /** Events that were no access (input refused before anything was read, or failed and undone), left out. */
  leftOut: z.number(),
});

/** One finding of the security report: `code` and `params` are stable (the screen words them); `title` and `fix` are the English text. */
export const finding = z.strictObject({
  severity: z.enum(['critical', 'high', 'medium', 'low', 'info']),
  code: z.string(),
  params: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
  title: z.string(),
  fix: z.string(),
});

export type AuditEntry = z.infer<typeof auditEntry>;
export type AccessCount = z.infer<typeof accessCount>;
export type AuditStatus = z.infer<typeof auditStatus>;
export type DisclosureHit = z.infer<typeof disclosureHit>;
export type AccessAct = z.infer<typeof accessAct>;
export type AccessGround = z.infer<typeof accessGround>;
export type AccessLine = z.infer<typeof accessLine>;
export type AccessReportAnswer = z.infer<typeof accessReportAnswer>;
export type Finding = z.infer<typeof finding>;
