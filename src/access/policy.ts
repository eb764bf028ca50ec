// The access policy: a pure function of (principal, action, resource) and a
// table. Anything the table does not grant is denied. A file the caller has
// no relation to is `hidden` (answered like a missing one); a file it may
// know about but not act on this way is `forbidden`.

export const DEPARTMENT_ROLES = ['clerk', 'physician', 'head'] as const;
export const TENANT_ROLES = ['admin', 'dpo'] as const;
export type DepartmentRole = (typeof DEPARTMENT_ROLES)[number];
export type TenantRole = (typeof TENANT_ROLES)[number];
export type Sensitivity = 'normal' | 'restricted';

export interface Membership {
  departmentId: string;
  role: DepartmentRole;
}

export const DEVICE_PERMISSIONS = ['store', 'find', 'retrieve'] as const;
export type DevicePermission = (typeof DEVICE_PERMISSIONS)[number];

/** A registered DICOM device acting through the image archive; it belongs to one department. */
interface DeviceIdentity {
  departmentId: string;
  permissions: DevicePermission[];
}

export interface Principal {
  /** The acting user, or the acting device's registry id. */
  userId: string;
  tenantId: string;
  tenantRoles: TenantRole[];
  memberships: Membership[];
  /** Set only for a DICOM device: devices hold no roles and no memberships. */
  device?: DeviceIdentity;
  /** Set only when the caller authenticated with an API token: it acts only within the token's scopes. */
  token?: TokenUse;
  /**
   * Issue 16: inbox. Set only for a connection acting as itself (the DEMIS poller of one department):
   * no roles, no memberships; its `userId` is `demis:<departmentId>`.
   */
  service?: { kind: 'demis'; departmentId: string };
}

/**
 * What an API token may be used for, a closed set. A token acts with its owner's
 * current roles *and* only within its scopes; a session covers whatever its roles allow.
 */
export const TOKEN_SCOPES = [
  'records:read',
  'records:write',
  'dicomweb:read',
  'dicomweb:store',
  'audit:read',
  'admin',
] as const;
export type TokenScope = (typeof TOKEN_SCOPES)[number];

export interface TokenUse {
  tokenId: string;
  scopes: readonly TokenScope[];
}

export type Decision = 'allow' | 'forbidden' | 'hidden';

/** What the gate knows about a person's file when it decides. */
export interface FileFacts {
  kind: 'file';
  departmentId: string;
  /** Departments the file is shared with right now. */
  sharedWith: string[];
  /** The caller holds an unexpired break-glass grant for this file. */
  breakGlass: boolean;
  /** Sensitivity of the record(s) touched; `normal` for the person itself. */
  sensitivity: Sensitivity;
  /**
   * A restricted record of a department that hides such entries from those who may not read
   * them: refused to such a caller as `hidden` (404, like missing), not `forbidden`.
   */
  hiddenUnlessReadable?: boolean;
}

export type Resource =
  | FileFacts
  /** A department something is created in. */
  | { kind: 'department'; departmentId: string }
  /** The tenant as a whole: administration, search, audit, reviews. */
  | { kind: 'tenant' }
  /** A user account administered by an admin. */
  | { kind: 'user'; userId: string }
  /**
   * An emergency access under review: a break-glass grant (in the owning department of the
   * file it opened), or an emergency search (`departmentId` null: it belongs to no department,
   * and only the DPO reviews it).
   */
  | { kind: 'review'; departmentId: string | null }
  /** The installation as a whole, and how many offices share it. */
  | { kind: 'installation'; offices: number }
  /** A grant or a reset link waiting for a second account's approval. */
  | ApprovalFacts;

/** What the gate knows about a pending approval when it decides. */
export interface ApprovalFacts {
  kind: 'approval';
  /** A membership in a department, a tenant role, or a reset link for lost credentials. */
  grant: 'membership' | 'role' | 'enrolment';
  /** The account the grant or link is for. */
  subjectId: string;
  requestedBy: string;
  /** The department of a membership. */
  departmentId: string | null;
  /** Whether that department has a head (who then decides, not the DPO). */
  departmentHasHead: boolean;
  /** The departments the subject is a member of (their heads may approve a reset link). */
  subjectDepartments: string[];
  /** The office's first DPO, granted without approval: only another DPO confirms or withdraws it. */
  exempt: boolean;
}

type Roles = readonly DepartmentRole[];
const ALL: Roles = DEPARTMENT_ROLES;
const SENIOR: Roles = ['physician', 'head'];
const HEAD: Roles = ['head'];
const NONE: Roles = [];

/**
 * Which department roles may do what to a file, by the caller's relation to
 * it: member of the owning department, member of a department it is shared
 * with, or holder of a break-glass grant. `restricted` lists the roles that
 * may do it to restricted content; `dpo` lets the data-protection officer do
 * it without any relation.
 */
export const FILE_RULES = {
  'person.read': { owner: ALL, share: ALL, breakGlass: ALL, restricted: ALL, dpo: false },
  'person.update': { owner: ALL, share: NONE, breakGlass: NONE, restricted: ALL, dpo: false },
  'record.list': { owner: ALL, share: ALL, breakGlass: ALL, restricted: ALL, dpo: false },
  'record.create': { owner: ALL, share: NONE, breakGlass: NONE, restricted: SENIOR, dpo: false },
  'record.read': { owner: ALL, share: ALL, breakGlass: ALL, restricted: SENIOR, dpo: false },
  'record.versions': { owner: ALL, share: ALL, breakGlass: ALL, restricted: SENIOR, dpo: false },
  'record.update': { owner: ALL, share: NONE, breakGlass: NONE, restricted: SENIOR, dpo: false },
  'record.delete': { owner: SENIOR, share: NONE, breakGlass: NONE, restricted: SENIOR, dpo: false },
  'file.share': { owner: HEAD, share: NONE, breakGlass: NONE, restricted: ALL, dpo: false },
  'share.revoke': { owner: HEAD, share: NONE, breakGlass: NONE, restricted: ALL, dpo: false },
  /** A file's live shares: for the head who manages them, and the DPO who oversees them. */
  'share.list': { owner: HEAD, share: NONE, breakGlass: NONE, restricted: ALL, dpo: true },
  'person.access-log': { owner: HEAD, share: NONE, breakGlass: NONE, restricted: ALL, dpo: true },
  /** The same log as a report in words, which names the file's person: the same callers, in a session only (ACTION_SCOPE). */
  'person.access-report': { owner: HEAD, share: NONE, breakGlass: NONE, restricted: ALL, dpo: true },
  'study.list': { owner: ALL, share: ALL, breakGlass: ALL, restricted: ALL, dpo: false },
  /** Linking a study to the file by hand, or taking it off again: a physician's decision, in the owning department only. */
  'study.link': { owner: SENIOR, share: NONE, breakGlass: NONE, restricted: SENIOR, dpo: false },
  /** A study's images and metadata (DICOMweb); an unlinked study counts as a file of its department with no shares. */
  'study.read': { owner: ALL, share: ALL, breakGlass: ALL, restricted: ALL, dpo: false },
  // Issue 16: person merge
  /**
   * Merging a duplicate into this file (decided on both files, the owning department only): the daily work of whoever
   * finds the duplicate, clerks included — it stays pending, reversible, until a physician or head confirms.
   */
  'person.merge': { owner: ALL, share: NONE, breakGlass: NONE, restricted: ALL, dpo: false },
  /** Confirming a pending merge: a physician or head of the department who did not merge (four eyes: src/records/person-merge.ts). */
  'person.merge-confirm': { owner: SENIOR, share: NONE, breakGlass: NONE, restricted: ALL, dpo: false },
  /** Undoing a pending merge: whoever merged, or whoever may confirm (the domain refuses other clerks). */
  'person.merge-undo': { owner: ALL, share: NONE, breakGlass: NONE, restricted: ALL, dpo: false },
  // Issue 16: cases & contacts — department work on the department's own files; a restricted case or contact for SENIOR.
  /** Adding a contact person to a case (decided on the index case's record; the contact's file is decided inside). */
  'contact.create': { owner: ALL, share: NONE, breakGlass: NONE, restricted: SENIOR, dpo: false },
  /** A case's contacts (decided on the case's record). */
  'contact.list': { owner: ALL, share: NONE, breakGlass: NONE, restricted: SENIOR, dpo: false },
  /** Turning a contact into a case of its own (decided on the contact's record). */
  'contact.convert': { owner: ALL, share: NONE, breakGlass: NONE, restricted: SENIOR, dpo: false },
  /** A day's follow-up of a contact (decided on the contact's record), like a record update. */
  'follow-up.record': { owner: ALL, share: NONE, breakGlass: NONE, restricted: SENIOR, dpo: false },
  // Issue 17: documents — a file's documents (uploads, generated letters) like its records.
  'document.list': { owner: ALL, share: ALL, breakGlass: ALL, restricted: ALL, dpo: false },
  'document.read': { owner: ALL, share: ALL, breakGlass: ALL, restricted: SENIOR, dpo: false },
  'document.add': { owner: ALL, share: NONE, breakGlass: NONE, restricted: SENIOR, dpo: false },
  'document.delete': { owner: SENIOR, share: NONE, breakGlass: NONE, restricted: SENIOR, dpo: false },
  // Issue 17: tasks — the owning department's work on its own files (every role), restricted ones like records.
  // Decided on the file (`person`, or a `task` resolving to its file); a department's own task (no file)
  // resolves to its department and is decided in `decideRoles` (its members; hidden from others).
  /** A file's tasks. */
  'task.list': { owner: ALL, share: NONE, breakGlass: NONE, restricted: SENIOR, dpo: false },
  /** A new task in a file (or the department). */
  'task.create': { owner: ALL, share: NONE, breakGlass: NONE, restricted: SENIOR, dpo: false },
  /** Changing a task on top of its version: title, note, due date, assignee, done, cancelled, reopened. */
  'task.update': { owner: ALL, share: NONE, breakGlass: NONE, restricted: SENIOR, dpo: false },
  // Issue 17: letters
  /** Making a letter from a template in the file (stored as its document): the owning department's daily work; for a restricted record SENIOR. */
  'letter.generate': { owner: ALL, share: NONE, breakGlass: NONE, restricted: SENIOR, dpo: false },
} as const satisfies Record<string, { owner: Roles; share: Roles; breakGlass: Roles; restricted: Roles; dpo: boolean }>;

export type FileAction = keyof typeof FILE_RULES;

/** Actions on the tenant or a department rather than on one file. */
export const OTHER_ACTIONS = [
  'person.create',
  'person.search',
  'person.emergency-search',
  'person.break-glass',
  'study.search',
  'study.store',
  'study.unassigned',
  'admin.department.create',
  'admin.department.list',
  'admin.user.create',
  'admin.user.list',
  'admin.user.update',
  'admin.user.update-access',
  'admin.user.enrolment-request',
  'admin.user.enrolment-issue',
  'approval.list',
  'approval.decide',
  'department.settings.read',
  'department.settings.update',
  'admin.device.create',
  'admin.device.list',
  'admin.device.remove',
  'admin.sso.read',
  'admin.sso.update',
  'admin.demis.read',
  'admin.demis.update',
  'demis.poll',
  'dicom.echo',
  'dicom.store',
  'dicom.find',
  'dicom.retrieve',
  'audit.read',
  'review.list',
  'review.decide',
  'break-glass.revoke',
  'audit.status',
  'system.security-report',
  'audit.read-installation',
  'audit.person-search',
  'audit.access-report',
  // Issue 16: inbox
  'notification.import',
  'notification.list',
  'notification.read',
  'notification.assign',
  'notification.match',
  'notification.accept',
  'notification.close',
  'quarantine.list',
  'quarantine.read',
  'quarantine.dismiss',
  // Issue 16: outbreaks and numbers
  'outbreak.create',
  'outbreak.list',
  'outbreak.read',
  'outbreak.update',
  'outbreak.timeline',
  'numbers.read',
  // Issue 16: transmission
  'transmission.preview',
  'transmission.create',
  'transmission.list',
  'transmission.read',
  'transmission.settings.read',
  'transmission.settings.update',
  // Issue 16: cases & contacts
  'case.list',
  'follow-up.list',
  // Issue 17: documents — a department's mail-room of scans not yet in a file.
  'mailroom.list',
  'mailroom.upload',
  'mailroom.read',
  'mailroom.assign',
  'mailroom.delete',
  // Issue 17: tasks
  'task.worklist',
  // Issue 17: letters
  'letter.templates',
  'letter.bulk',
  'letter.runs',
  'letter.run',
  'admin.template.list',
  'admin.template.read',
  'admin.template.create',
  'admin.template.update',
  'admin.template.preview',
] as const;

export type Action = FileAction | (typeof OTHER_ACTIONS)[number];

const isFileAction = (a: string): a is FileAction => a in FILE_RULES;

/**
 * The scope a token needs for each action; `null`: never with a token. Emergency
 * access, sharing, reviews, approvals, granting roles and issuing reset links are a
 * person's decisions, made in a signed-in session. Every action is listed, so a new
 * one does not compile until someone decides.
 */
export const ACTION_SCOPE: Record<Action, TokenScope | null> = {
  'person.read': 'records:read',
  'person.search': 'records:read',
  'record.list': 'records:read',
  'record.read': 'records:read',
  'record.versions': 'records:read',
  'study.list': 'records:read',
  'share.list': 'records:read',
  'person.create': 'records:write',
  'person.update': 'records:write',
  'record.create': 'records:write',
  'record.update': 'records:write',
  'record.delete': 'records:write',
  'study.link': 'records:write',
  'study.unassigned': 'records:read',
  'study.search': 'dicomweb:read',
  'study.read': 'dicomweb:read',
  'study.store': 'dicomweb:store',
  'person.access-log': 'audit:read',
  'audit.read': 'audit:read',
  'audit.status': 'audit:read',
  'audit.read-installation': 'audit:read',
  'review.list': 'audit:read',
  'admin.department.create': 'admin',
  'admin.department.list': 'admin',
  'admin.user.create': 'admin',
  'admin.user.list': 'admin',
  'admin.user.update': 'admin',
  'admin.device.create': 'admin',
  'admin.device.list': 'admin',
  'admin.device.remove': 'admin',
  'approval.list': 'admin',
  'system.security-report': 'admin',
  'admin.sso.read': 'admin',
  'admin.demis.read': 'admin',
  // Asking DEMIS now for new notifications changes nothing but when they arrive.
  'demis.poll': 'admin',
  // A department's own rules, and the office's trust in an identity provider: a person's decision.
  'department.settings.read': null,
  'department.settings.update': null,
  'admin.sso.update': null,
  // The office's DEMIS certificate, key and client secret: set by a person in a session.
  'admin.demis.update': null,
  'admin.user.update-access': null,
  'admin.user.enrolment-request': null,
  'admin.user.enrolment-issue': null,
  'approval.decide': null,
  'person.emergency-search': null,
  'person.break-glass': null,
  'file.share': null,
  'share.revoke': null,
  'review.decide': null,
  'break-glass.revoke': null,
  // Finding a person's files by name across every department (for an access report): a person's act, in a session.
  'audit.person-search': null,
  // Access reports name the person (name, birth date) of any file they are asked for by id: an id from the
  // audit log must not turn into a name through a token, so they are read in a session, like the search.
  'audit.access-report': null,
  'person.access-report': null,
  // Issue 16: cases & contacts
  'case.list': 'records:read',
  'follow-up.list': 'records:read',
  'contact.list': 'records:read',
  'contact.create': 'records:write',
  'contact.convert': 'records:write',
  'follow-up.record': 'records:write',
  // Devices are principals of their own, never tokens.
  'dicom.echo': null,
  'dicom.store': null,
  'dicom.find': null,
  'dicom.retrieve': null,
  // Issue 16: inbox. A bundle uploaded by hand is a person's act in a session (the DEMIS connection is a service, not a token).
  'notification.import': null,
  'notification.list': 'records:read',
  'notification.read': 'records:read',
  'quarantine.list': 'records:read',
  'quarantine.read': 'records:read',
  'notification.assign': 'records:write',
  'notification.match': 'records:write',
  'notification.accept': 'records:write',
  'notification.close': 'records:write',
  'quarantine.dismiss': 'records:write',
  // Issue 16: outbreaks and numbers
  'outbreak.list': 'records:read',
  'outbreak.read': 'records:read',
  'numbers.read': 'records:read',
  'outbreak.create': 'records:write',
  'outbreak.update': 'records:write',
  'outbreak.timeline': 'records:write',
  // Issue 16: person merge — a person's act in a session.
  'person.merge': null,
  'person.merge-confirm': null,
  'person.merge-undo': null,
  // Issue 16: transmission — the §11 export sends a department's case data to the state authority: a person's act, in a session.
  'transmission.preview': null,
  'transmission.create': null,
  'transmission.list': null,
  'transmission.read': null,
  'transmission.settings.read': null,
  'transmission.settings.update': null,
  // Issue 17: documents
  'document.list': 'records:read',
  'document.read': 'records:read',
  'document.add': 'records:write',
  'document.delete': 'records:write',
  'mailroom.list': 'records:read',
  'mailroom.read': 'records:read',
  'mailroom.upload': 'records:write',
  'mailroom.assign': 'records:write',
  'mailroom.delete': 'records:write',
  // Issue 17: tasks
  'task.list': 'records:read',
  'task.worklist': 'records:read',
  'task.create': 'records:write',
  'task.update': 'records:write',
  // Issue 17: letters — a letter is a write to the file; a bulk run and editing templates are a person's act in a session.
  'letter.generate': 'records:write',
  'letter.templates': 'records:read',
  'letter.runs': 'records:read',
  'letter.run': 'records:read',
  'letter.bulk': null,
  'admin.template.list': 'admin',
  'admin.template.read': 'admin',
  'admin.template.preview': 'admin',
  'admin.template.create': null,
  'admin.template.update': null,
};

/** Whether the principal's token (if it used one) covers `action`; a session always does. */
export function tokenCovers(p: Principal, action: Action): boolean {
  if (!p.token) return true;
  const scope = ACTION_SCOPE[action];
  return scope !== null && p.token.scopes.includes(scope);
}

const rank = (r: DepartmentRole) => DEPARTMENT_ROLES.indexOf(r);
const higher = (a: DepartmentRole | undefined, b: DepartmentRole) => (a === undefined || rank(b) > rank(a) ? b : a);

/** Whether `role`, held through one relation, may do what `allowed` lists, to content of this sensitivity. */
function permits(
  role: DepartmentRole | undefined,
  allowed: Roles,
  restricted: Roles,
  sensitivity: Sensitivity,
): boolean {
  return role !== undefined && allowed.includes(role) && (sensitivity === 'normal' || restricted.includes(role));
}

// Plain loops, no closures: every gated request decides at least once.
function decideFile(p: Principal, action: FileAction, f: FileFacts): Decision {
  const rule = FILE_RULES[action];
  // The caller's highest role through each relation: owning department, a share, any membership (for a break-glass grant).
  let owner: DepartmentRole | undefined;
  let share: DepartmentRole | undefined;
  let any: DepartmentRole | undefined;
  for (const m of p.memberships) {
    if (m.departmentId === f.departmentId) owner = higher(owner, m.role);
    if (f.sharedWith.includes(m.departmentId)) share = higher(share, m.role);
    any = higher(any, m.role);
  }
  const glass = f.breakGlass ? any : undefined;
  const isDpo = rule.dpo && p.tenantRoles.includes('dpo');
  if (owner === undefined && share === undefined && glass === undefined && !isDpo) return 'hidden';
  if (isDpo) return 'allow';
  const permitted =
    permits(owner, rule.owner, rule.restricted, f.sensitivity) ||
    permits(share, rule.share, rule.restricted, f.sensitivity) ||
    permits(glass, rule.breakGlass, rule.restricted, f.sensitivity);
  if (permitted) return 'allow';
  if (f.hiddenUnlessReadable) {
    const read = FILE_RULES['record.read'];
    const reads =
      permits(owner, read.owner, read.restricted, f.sensitivity) ||
      permits(share, read.share, read.restricted, f.sensitivity) ||
      permits(glass, read.breakGlass, read.restricted, f.sensitivity);
    if (!reads) return 'hidden';
  }
  return 'forbidden';
}

/**
 * The decision: what the roles allow, and for a token only within its scopes. A scope
 * the token lacks turns only an `allow` into `forbidden`: what is hidden from the
 * owner stays hidden (404), so a token tells nothing its owner's session would not.
 */
export function decide(p: Principal, action: Action, r: Resource): Decision {
  const d = decideRoles(p, action, r);
  return d === 'allow' && !tokenCovers(p, action) ? 'forbidden' : d;
}

function decideRoles(p: Principal, action: Action, r: Resource): Decision {
  if (isFileAction(action)) {
    // Issue 17: tasks — a department's own task is no file's: its department's members, whatever their role.
    if (r.kind === 'department' && isTaskAction(action)) return departmentTask(p, action, r.departmentId);
    return r.kind === 'file' ? decideFile(p, action, r) : 'forbidden';
  }
  const member = p.memberships.length > 0;
  const admin = p.tenantRoles.includes('admin');
  const dpo = p.tenantRoles.includes('dpo');
  const heads = p.memberships.some((m) => m.role === 'head');
  switch (action) {
    case 'person.create':
    case 'study.store':
      return r.kind === 'department' && p.memberships.some((m) => m.departmentId === r.departmentId)
        ? 'allow'
        : 'forbidden';
    case 'study.unassigned': {
      // A department's studies that are linked to no file yet: for its physicians and head, who link them; hidden from other departments.
      if (r.kind !== 'department') return 'forbidden';
      const role = p.memberships
        .filter((m) => m.departmentId === r.departmentId)
        .reduce<DepartmentRole | undefined>((a, m) => higher(a, m.role), undefined);
      if (role === undefined) return 'hidden';
      return SENIOR.includes(role) ? 'allow' : 'forbidden';
    }
    case 'person.search':
    case 'person.emergency-search':
    case 'study.search':
      // The emergency search (other departments' files, with a reason) is for whoever may break the glass.
      return member ? 'allow' : 'forbidden';
    case 'person.break-glass':
      // Any department member, never a pure admin or DPO; hidden like the file itself otherwise.
      return r.kind === 'file' && member ? 'allow' : 'hidden';
    case 'admin.department.create':
    case 'admin.department.list':
    case 'admin.user.create':
    case 'admin.user.list':
    case 'admin.user.update':
    case 'admin.user.enrolment-issue':
    case 'admin.device.create':
    case 'admin.device.list':
    case 'admin.device.remove':
    case 'admin.sso.read':
    case 'admin.sso.update':
    case 'admin.demis.read':
    case 'admin.demis.update':
    case 'demis.poll':
      return admin ? 'allow' : 'forbidden';
    case 'dicom.echo':
      return p.device && r.kind === 'tenant' ? 'allow' : 'forbidden';
    // Issue 16: inbox
    case 'notification.import':
      // The department's DEMIS connection for its own department, or a member uploading by hand.
      if (r.kind !== 'department') return 'forbidden';
      if (p.service?.kind === 'demis') return p.service.departmentId === r.departmentId ? 'allow' : 'forbidden';
      return p.memberships.some((m) => m.departmentId === r.departmentId) ? 'allow' : 'forbidden';
    case 'notification.list':
    case 'quarantine.list':
      // The inbox of a department: its daily work, for every role of it.
      return r.kind === 'department' && p.memberships.some((m) => m.departmentId === r.departmentId)
        ? 'allow'
        : 'forbidden';
    case 'notification.read':
    case 'notification.assign':
    case 'notification.match':
    case 'notification.accept':
    case 'notification.close':
    case 'quarantine.read':
    case 'quarantine.dismiss':
      // A notification or quarantine entry (resolved to its department) of another department is not there for the caller.
      return r.kind === 'department' && p.memberships.some((m) => m.departmentId === r.departmentId)
        ? 'allow'
        : 'hidden';
    case 'dicom.store':
      return deviceMay(p, 'store', r);
    case 'dicom.find':
      return deviceMay(p, 'find', r);
    case 'dicom.retrieve':
      return deviceMay(p, 'retrieve', r);
    case 'admin.user.update-access':
    case 'admin.user.enrolment-request':
      // Separation of duties: nobody grants roles or memberships to themselves, nor asks for their own reset link.
      return admin && r.kind === 'user' && r.userId !== p.userId ? 'allow' : 'forbidden';
    case 'department.settings.read':
    case 'department.settings.update':
      // A department's own rules are its head's to set.
      return r.kind === 'department' &&
        p.memberships.some((m) => m.role === 'head' && m.departmentId === r.departmentId)
        ? 'allow'
        : 'forbidden';
    case 'approval.list':
      return admin || dpo || heads ? 'allow' : 'forbidden';
    case 'approval.decide':
      return r.kind === 'approval' ? decideApproval(p, r) : 'forbidden';
    case 'audit.read':
    case 'review.list':
      return dpo || heads ? 'allow' : 'forbidden';
    case 'audit.status':
    case 'audit.person-search':
    case 'audit.access-report':
      // An access report across departments (Art. 15 GDPR): the DPO finds the person's files and reads their events.
      return dpo ? 'allow' : 'forbidden';
    case 'system.security-report':
      return admin || dpo ? 'allow' : 'forbidden';
    case 'audit.read-installation':
      // The installation's own chain (failed logins with unknown names, refused DICOM callers) names no
      // office: the office's DPO and admin see it only where the installation is theirs alone; otherwise the operator (CLI).
      return (admin || dpo) && r.kind === 'installation' && r.offices === 1 ? 'allow' : 'forbidden';
    // Issue 16: cases & contacts — a department's case list and follow-up worklist, for its members.
    case 'case.list':
    case 'follow-up.list':
      return r.kind === 'department' && p.memberships.some((m) => m.departmentId === r.departmentId)
        ? 'allow'
        : 'forbidden';
    case 'review.decide':
    case 'break-glass.revoke':
      // Deciding a review and ending a running grant early: the DPO, or the head of the department whose file was opened.
      if (r.kind !== 'review') return 'forbidden';
      if (dpo || p.memberships.some((m) => m.role === 'head' && m.departmentId === r.departmentId)) return 'allow';
      return 'hidden';
    // Issue 16: outbreaks and numbers — the daily work of every member of the department. A department's
    // lists and numbers are forbidden to others; an outbreak named by its id is hidden from them (404).
    case 'outbreak.create':
    case 'outbreak.list':
    case 'numbers.read':
      return r.kind === 'department' && p.memberships.some((m) => m.departmentId === r.departmentId)
        ? 'allow'
        : 'forbidden';
    case 'outbreak.read':
    case 'outbreak.update':
    case 'outbreak.timeline':
      return r.kind === 'department' && p.memberships.some((m) => m.departmentId === r.departmentId)
        ? 'allow'
        : 'hidden';
    // Issue 16: transmission — the §11 transmission is for the department's physicians and head.
    case 'transmission.preview':
    case 'transmission.create':
    case 'transmission.list':
    case 'transmission.settings.read':
    case 'transmission.settings.update':
      return r.kind === 'department' && seniorIn(p, r.departmentId) ? 'allow' : 'forbidden';
    // Issue 17: documents — the mail-room is every member's daily work; a scan of another department
    // named by its id is not there for the caller (404); deleting one is a physician's or head's decision.
    case 'mailroom.list':
    case 'mailroom.upload':
      return r.kind === 'department' && p.memberships.some((m) => m.departmentId === r.departmentId)
        ? 'allow'
        : 'forbidden';
    case 'mailroom.read':
    case 'mailroom.assign':
      return r.kind === 'department' && p.memberships.some((m) => m.departmentId === r.departmentId)
        ? 'allow'
        : 'hidden';
    case 'mailroom.delete':
      if (r.kind !== 'department') return 'forbidden';
      if (!p.memberships.some((m) => m.departmentId === r.departmentId)) return 'hidden';
      return seniorIn(p, r.departmentId) ? 'allow' : 'forbidden';
    // Issue 17: tasks — the worklist of a department: its members (each sees their own and the
    // department's tasks, a head all of them: src/desk/task-worklist.ts); forbidden to others.
    case 'task.worklist':
      return r.kind === 'department' && p.memberships.some((m) => m.departmentId === r.departmentId)
        ? 'allow'
        : 'forbidden';
    // Issue 17: letters — the templates a department may use, its bulk runs: every member of it (each letter of a
    // run is decided on its file again, as `letter.generate`); a run named by its id is hidden from others (404).
    case 'letter.templates':
    case 'letter.bulk':
    case 'letter.runs':
      return r.kind === 'department' && p.memberships.some((m) => m.departmentId === r.departmentId)
        ? 'allow'
        : 'forbidden';
    case 'letter.run':
      return r.kind === 'department' && p.memberships.some((m) => m.departmentId === r.departmentId)
        ? 'allow'
        : 'hidden';
    // The office's letter templates (letterhead, legal wording): its administrators.
    case 'admin.template.list':
    case 'admin.template.read':
    case 'admin.template.create':
    case 'admin.template.update':
    case 'admin.template.preview':
      return admin && r.kind === 'tenant' ? 'allow' : 'forbidden';
    case 'transmission.read': {
      // A transmission named by its id: another department's is not there for the caller (404).
      if (r.kind !== 'department') return 'forbidden';
      if (!p.memberships.some((m) => m.departmentId === r.departmentId)) return 'hidden';
      return seniorIn(p, r.departmentId) ? 'allow' : 'forbidden';
    }
  }
}

// Issue 17: tasks
const TASK_ACTIONS: ReadonlySet<string> = new Set(['task.list', 'task.create', 'task.update']);
const isTaskAction = (a: FileAction) => TASK_ACTIONS.has(a);
/**
 * A department's own task (no file): for any member of the department. Creating one in another
 * department is forbidden; a task of another department named by its id is not there (404).
 */
function departmentTask(p: Principal, action: FileAction, departmentId: string): Decision {
  if (p.memberships.some((m) => m.departmentId === departmentId)) return 'allow';
  return action === 'task.create' ? 'forbidden' : 'hidden';
}

/** Issue 16: transmission — whether the caller is a physician or the head of this department. */
const seniorIn = (p: Principal, departmentId: string) =>
  p.memberships.some((m) => m.departmentId === departmentId && SENIOR.includes(m.role));

/**
 * Who may approve a grant or a reset link: a membership by the department's
 * head (by a DPO while it has none), a tenant role by another admin or a DPO,
 * a reset link by another admin or a head of one of the account's departments.
 * Never the account that asked, nor the account it is for.
 */
function decideApproval(p: Principal, r: ApprovalFacts): Decision {
  const admin = p.tenantRoles.includes('admin');
  const dpo = p.tenantRoles.includes('dpo');
  const headOf = (departmentId: string | null) =>
    p.memberships.some((m) => m.role === 'head' && m.departmentId === departmentId);
  let judge: boolean;
  switch (r.grant) {
    case 'membership':
      judge = r.departmentHasHead ? headOf(r.departmentId) : dpo;
      break;
    case 'role':
      judge = r.exempt ? dpo : admin || dpo;
      break;
    case 'enrolment':
      judge = admin || r.subjectDepartments.some(headOf);
      break;
  }
  if (!judge) return 'hidden';
  return p.userId === r.requestedBy || p.userId === r.subjectId ? 'forbidden' : 'allow';
}

/** A device acts only in its own department, and only with the permissions it was registered with. */
function deviceMay(p: Principal, permission: DevicePermission, r: Resource): Decision {
  if (!p.device || r.kind !== 'department' || r.departmentId !== p.device.departmentId) return 'forbidden';
  return p.device.permissions.includes(permission) ? 'allow' : 'forbidden';
}
