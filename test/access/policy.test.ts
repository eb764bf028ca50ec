// The access policy as a table: who may do what to a person's file, by role, by relation
// to the file and by sensitivity, and who may do the tenant-wide things. The expected
// outcomes below are written out by hand from the intended rules (API.md, ARCHITECTURE.md),
// never computed from FILE_RULES, so a wrong cell in the table or in `decide` fails here.
// Pure function, no database.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decide,
  FILE_RULES,
  OTHER_ACTIONS,
  type Action,
  type Decision,
  type DepartmentRole,
  type DevicePermission,
  type FileAction,
  type FileFacts,
  type Membership,
  type Principal,
  type Resource,
  type Sensitivity,
  type TenantRole,
  type TokenScope,
  TOKEN_SCOPES,
} from '../../src/access/policy.ts';

const OWN = 'dept-own'; // the caller's department
const OTHER = 'dept-other'; // some other department
const THIRD = 'dept-third'; // a department unrelated to the caller

const LETTER: Record<string, Decision> = { A: 'allow', F: 'forbidden', H: 'hidden' };
const SENS: Sensitivity[] = ['normal', 'restricted'];

/** 'AF AA AA' → [[normal, restricted] for each of three columns]. */
function grid(s: string, columns: number, perColumn: number): Decision[][] {
  const cells = s.split(' ');
  assert.equal(cells.length, columns, `grid ${s}`);
  return cells.map((c) => {
    assert.equal(c.length, perColumn, `grid ${s}`);
    return [...c].map((l) => LETTER[l] ?? assert.fail(`bad letter ${l} in ${s}`));
  });
}

function principal(userId: string, memberships: Membership[], tenantRoles: TenantRole[] = []): Principal {
  return { userId, tenantId: 'tenant-1', tenantRoles, memberships };
}

// ---------------------------------------------------------------------------
// File actions
// ---------------------------------------------------------------------------

type Relation = 'owner' | 'share' | 'breakGlass' | 'none';
const RELATIONS: Relation[] = ['owner', 'share', 'breakGlass', 'none'];

/**
 * The file as the caller (a member of OWN, if of anything) meets it. Each shape also
 * carries a decoy (a share to THIRD) so that a policy reading the wrong field shows.
 */
function fileFor(rel: Relation, sensitivity: Sensitivity): FileFacts {
  switch (rel) {
    case 'owner':
      return { kind: 'file', departmentId: OWN, sharedWith: [THIRD], breakGlass: false, sensitivity };
    case 'share':
      return { kind: 'file', departmentId: OTHER, sharedWith: [THIRD, OWN], breakGlass: false, sensitivity };
    case 'breakGlass':
      return { kind: 'file', departmentId: OTHER, sharedWith: [THIRD], breakGlass: true, sensitivity };
    case 'none':
      return { kind: 'file', departmentId: OTHER, sharedWith: [THIRD], breakGlass: false, sensitivity };
  }
}

const ROLES: DepartmentRole[] = ['clerk', 'physician', 'head'];

// Columns: clerk, physician, head; each NR = normal, restricted.
// `tenant` columns: admin only, dpo only, no role at all — each with no membership, so
// whatever the file looks like (owned, shared, a grant flag) they have no relation to it.
//
// The person itself has no sensitivity (resolve.ts always decides it as `normal`) and the
// record list is decided as `normal` too (it shows summaries, not content); their
// restricted column therefore equals the normal one. `restricted` bites on record content:
// create, read, update, versions (clerks 403).
const FILE_TABLE: Record<string, { owner: string; share: string; breakGlass: string; none: string; tenant: string }> = {
  'person.read': { owner: 'AA AA AA', share: 'AA AA AA', breakGlass: 'AA AA AA', none: 'HH HH HH', tenant: 'HH HH HH' },
  'person.update': {
    owner: 'AA AA AA',
    share: 'FF FF FF',
    breakGlass: 'FF FF FF',
    none: 'HH HH HH',
    tenant: 'HH HH HH',
  },
  'record.list': { owner: 'AA AA AA', share: 'AA AA AA', breakGlass: 'AA AA AA', none: 'HH HH HH', tenant: 'HH HH HH' },
  'record.create': {
    owner: 'AF AA AA',
    share: 'FF FF FF',
    breakGlass: 'FF FF FF',
    none: 'HH HH HH',
    tenant: 'HH HH HH',
  },
  'record.read': { owner: 'AF AA AA', share: 'AF AA AA', breakGlass: 'AF AA AA', none: 'HH HH HH', tenant: 'HH HH HH' },
  'record.versions': {
    owner: 'AF AA AA',
    share: 'AF AA AA',
    breakGlass: 'AF AA AA',
    none: 'HH HH HH',
    tenant: 'HH HH HH',
  },
  'record.update': {
    owner: 'AF AA AA',
    share: 'FF FF FF',
    breakGlass: 'FF FF FF',
    none: 'HH HH HH',
    tenant: 'HH HH HH',
  },
  'record.delete': {
    owner: 'FF AA AA',
    share: 'FF FF FF',
    breakGlass: 'FF FF FF',
    none: 'HH HH HH',
    tenant: 'HH HH HH',
  },
  'file.share': { owner: 'FF FF AA', share: 'FF FF FF', breakGlass: 'FF FF FF', none: 'HH HH HH', tenant: 'HH HH HH' },
  'share.revoke': {
    owner: 'FF FF AA',
    share: 'FF FF FF',
    breakGlass: 'FF FF FF',
    none: 'HH HH HH',
    tenant: 'HH HH HH',
  },
  'share.list': { owner: 'FF FF AA', share: 'FF FF FF', breakGlass: 'FF FF FF', none: 'HH HH HH', tenant: 'HH AA HH' },
  'person.access-log': {
    owner: 'FF FF AA',
    share: 'FF FF FF',
    breakGlass: 'FF FF FF',
    none: 'HH HH HH',
    tenant: 'HH AA HH',
  },
  'person.access-report': {
    owner: 'FF FF AA',
    share: 'FF FF FF',
    breakGlass: 'FF FF FF',
    none: 'HH HH HH',
    tenant: 'HH AA HH',
  },
  // A file's images: seen by whoever may see the file; linked to it (or taken off) by its own department's physicians and head only.
  'study.list': { owner: 'AA AA AA', share: 'AA AA AA', breakGlass: 'AA AA AA', none: 'HH HH HH', tenant: 'HH HH HH' },
  'study.link': { owner: 'FF AA AA', share: 'FF FF FF', breakGlass: 'FF FF FF', none: 'HH HH HH', tenant: 'HH HH HH' },
  // Images and metadata through DICOMweb: like the file itself, never for an admin or the DPO.
  'study.read': { owner: 'AA AA AA', share: 'AA AA AA', breakGlass: 'AA AA AA', none: 'HH HH HH', tenant: 'HH HH HH' },
  // Issue 16: person merge — in the owning department only; confirming for physicians and heads (four eyes in the domain).
  'person.merge': {
    owner: 'AA AA AA',
    share: 'FF FF FF',
    breakGlass: 'FF FF FF',
    none: 'HH HH HH',
    tenant: 'HH HH HH',
  },
  'person.merge-confirm': {
    owner: 'FF AA AA',
    share: 'FF FF FF',
    breakGlass: 'FF FF FF',
    none: 'HH HH HH',
    tenant: 'HH HH HH',
  },
  'person.merge-undo': {
    owner: 'AA AA AA',
    share: 'FF FF FF',
    breakGlass: 'FF FF FF',
    none: 'HH HH HH',
    tenant: 'HH HH HH',
  },
  // Issue 16: cases & contacts — department work on its own files, like a record update; restricted for physicians and heads.
  'contact.create': {
    owner: 'AF AA AA',
    share: 'FF FF FF',
    breakGlass: 'FF FF FF',
    none: 'HH HH HH',
    tenant: 'HH HH HH',
  },
  'contact.list': {
    owner: 'AF AA AA',
    share: 'FF FF FF',
    breakGlass: 'FF FF FF',
    none: 'HH HH HH',
    tenant: 'HH HH HH',
  },
  'contact.convert': {
    owner: 'AF AA AA',
    share: 'FF FF FF',
    breakGlass: 'FF FF FF',
    none: 'HH HH HH',
    tenant: 'HH HH HH',
  },
  'follow-up.record': {
    owner: 'AF AA AA',
    share: 'FF FF FF',
    breakGlass: 'FF FF FF',
    none: 'HH HH HH',
    tenant: 'HH HH HH',
  }, // Issue 17: letters — a letter in the file: the owning department's daily work; for a restricted record physicians and heads.
  'letter.generate': {
    owner: 'AF AA AA',
    share: 'FF FF FF',
    breakGlass: 'FF FF FF',
    none: 'HH HH HH',
    tenant: 'HH HH HH',
  },
  // Issue 17: documents — a file's documents like its records: listed and read as far as the file reaches,
  // added in the owning department (restricted by physicians and heads), deleted by physicians and heads.
  'document.list': {
    owner: 'AA AA AA',
    share: 'AA AA AA',
    breakGlass: 'AA AA AA',
    none: 'HH HH HH',
    tenant: 'HH HH HH',
  },
  'document.read': {
    owner: 'AF AA AA',
    share: 'AF AA AA',
    breakGlass: 'AF AA AA',
    none: 'HH HH HH',
    tenant: 'HH HH HH',
  },
  'document.add': {
    owner: 'AF AA AA',
    share: 'FF FF FF',
    breakGlass: 'FF FF FF',
    none: 'HH HH HH',
    tenant: 'HH HH HH',
  },
  'document.delete': {
    owner: 'FF AA AA',
    share: 'FF FF FF',
    breakGlass: 'FF FF FF',
    none: 'HH HH HH',
    tenant: 'HH HH HH',
  },
  // Issue 17: tasks — the owning department's work, every role; restricted tasks like restricted records.
  ...Object.fromEntries(
    (['task.list', 'task.create', 'task.update'] as const).map((action) => [
      action,
      { owner: 'AF AA AA', share: 'FF FF FF', breakGlass: 'FF FF FF', none: 'HH HH HH', tenant: 'HH HH HH' },
    ]),
  ),
};

test('the file table has a row for exactly the file actions the policy knows', () => {
  assert.deepEqual(Object.keys(FILE_TABLE).sort(), Object.keys(FILE_RULES).sort());
});

for (const [action, rows] of Object.entries(FILE_TABLE)) {
  test(`file action ${action}: department roles × relation × sensitivity`, () => {
    for (const rel of RELATIONS) {
      const expected = grid(rows[rel], 3, 2);
      ROLES.forEach((role, i) => {
        const p = principal(`u-${role}`, [{ departmentId: OWN, role }]);
        SENS.forEach((s, j) => {
          assert.equal(decide(p, action as FileAction, fileFor(rel, s)), expected[i]![j], `${role} / ${rel} / ${s}`);
        });
      });
    }
  });

  test(`file action ${action}: admin only, DPO only, no role — no relation, whatever the file looks like`, () => {
    const expected = grid(rows.tenant, 3, 2);
    const callers: [string, TenantRole[]][] = [
      ['admin', ['admin']],
      ['dpo', ['dpo']],
      ['nobody', []],
    ];
    callers.forEach(([name, roles], i) => {
      const p = principal(`u-${name}`, [], roles);
      for (const rel of RELATIONS) {
        SENS.forEach((s, j) => {
          assert.equal(
            decide(p, action as FileAction, fileFor(rel, s)),
            expected[i]![j],
            `${name} / file shaped ${rel} / ${s}`,
          );
        });
      }
    });
  });
}

test('a file action on something that is not a file is forbidden, even for the owning head and the DPO', () => {
  const head = principal('u-head', [{ departmentId: OWN, role: 'head' }], ['admin', 'dpo']);
  const notFiles: Resource[] = [
    { kind: 'tenant' },
    { kind: 'department', departmentId: OWN },
    { kind: 'user', userId: 'u-x' },
    { kind: 'review', departmentId: OWN },
    { kind: 'review', departmentId: null },
  ];
  for (const action of Object.keys(FILE_TABLE) as FileAction[]) {
    for (const r of notFiles) {
      // Issue 17: tasks — a department's own task is decided as its department (the test below).
      if (r.kind === 'department' && action.startsWith('task.')) continue;
      assert.equal(decide(head, action, r), 'forbidden', `${action} on ${r.kind}`);
    }
  }
});

// Several memberships: the caller gets the best any one relation allows, never a mix
// (the role from one relation with the permission of another).
const COMBINATIONS: {
  why: string;
  m: Membership[];
  roles?: TenantRole[];
  file: Omit<FileFacts, 'kind' | 'sensitivity'>;
  expect: Record<string, string>;
}[] = [
  {
    why: 'clerk of the owning department + head of a receiving department',
    m: [
      { departmentId: OWN, role: 'clerk' },
      { departmentId: OTHER, role: 'head' },
    ],
    file: { departmentId: OWN, sharedWith: [OTHER], breakGlass: false },
    // NR per action: the head role counts only for reading (via the share).
    expect: {
      'file.share': 'FF',
      'share.revoke': 'FF',
      'person.access-log': 'FF',
      'record.delete': 'FF',
      'record.read': 'AA',
      'record.versions': 'AA',
      'record.update': 'AF',
      'record.create': 'AF',
      'person.update': 'AA',
    },
  },
  {
    why: 'clerk of the owning department + physician of a receiving department',
    m: [
      { departmentId: OWN, role: 'clerk' },
      { departmentId: OTHER, role: 'physician' },
    ],
    file: { departmentId: OWN, sharedWith: [OTHER], breakGlass: false },
    expect: {
      'record.read': 'AA',
      'record.versions': 'AA',
      'record.create': 'AF',
      'record.update': 'AF',
      'record.delete': 'FF',
    },
  },
  {
    why: 'physician of a receiving department only',
    m: [{ departmentId: OTHER, role: 'physician' }],
    file: { departmentId: OWN, sharedWith: [OTHER], breakGlass: false },
    expect: { 'record.read': 'AA', 'record.update': 'FF', 'person.update': 'FF', 'record.delete': 'FF' },
  },
  {
    why: 'clerk and head of the same owning department',
    m: [
      { departmentId: OWN, role: 'clerk' },
      { departmentId: OWN, role: 'head' },
    ],
    file: { departmentId: OWN, sharedWith: [], breakGlass: false },
    expect: { 'file.share': 'AA', 'record.update': 'AA', 'record.delete': 'AA', 'person.access-log': 'AA' },
  },
  {
    // A grant is read with the caller's best role anywhere: a TB physician breaking the
    // glass on an INF file reads restricted records; the owning-clerk role adds no edit right.
    why: 'clerk of the owning department + physician elsewhere, holding a break-glass grant',
    m: [
      { departmentId: OWN, role: 'clerk' },
      { departmentId: THIRD, role: 'physician' },
    ],
    file: { departmentId: OWN, sharedWith: [], breakGlass: true },
    expect: { 'record.read': 'AA', 'record.update': 'AF', 'record.create': 'AF', 'record.delete': 'FF' },
  },
  {
    why: 'head of another department holding a break-glass grant',
    m: [{ departmentId: THIRD, role: 'head' }],
    file: { departmentId: OWN, sharedWith: [], breakGlass: true },
    expect: {
      'record.read': 'AA',
      'file.share': 'FF',
      'share.revoke': 'FF',
      'person.access-log': 'FF',
      'record.update': 'FF',
    },
  },
  {
    why: 'head of the owning department who also holds a grant and a share',
    m: [{ departmentId: OWN, role: 'head' }],
    file: { departmentId: OWN, sharedWith: [OWN], breakGlass: true },
    expect: { 'file.share': 'AA', 'record.delete': 'AA', 'person.access-log': 'AA' },
  },
  {
    why: 'DPO who is also a clerk of the owning department: the DPO role adds only the access log',
    m: [{ departmentId: OWN, role: 'clerk' }],
    roles: ['dpo'],
    file: { departmentId: OWN, sharedWith: [], breakGlass: false },
    expect: {
      'person.access-log': 'AA',
      'record.read': 'AF',
      'record.update': 'AF',
      'file.share': 'FF',
      'record.delete': 'FF',
    },
  },
  {
    why: 'DPO who is a member of an unrelated department',
    m: [{ departmentId: THIRD, role: 'head' }],
    roles: ['dpo'],
    file: { departmentId: OWN, sharedWith: [], breakGlass: false },
    expect: { 'person.access-log': 'AA', 'person.read': 'HH', 'record.read': 'HH', 'file.share': 'HH' },
  },
  {
    why: 'admin who is also a clerk of the owning department: admin grants nothing on files',
    m: [{ departmentId: OWN, role: 'clerk' }],
    roles: ['admin'],
    file: { departmentId: OWN, sharedWith: [], breakGlass: false },
    expect: { 'record.read': 'AF', 'record.delete': 'FF', 'file.share': 'FF', 'person.access-log': 'FF' },
  },
  {
    why: 'member of a department the file was shared with but is no longer',
    m: [{ departmentId: OTHER, role: 'head' }],
    file: { departmentId: OWN, sharedWith: [THIRD], breakGlass: false },
    expect: { 'person.read': 'HH', 'record.read': 'HH', 'person.access-log': 'HH' },
  },
];

for (const c of COMBINATIONS) {
  test(`several relations: ${c.why}`, () => {
    // Membership order must not matter.
    for (const m of [c.m, [...c.m].reverse()]) {
      const p = principal('u-combo', m, c.roles ?? []);
      for (const [action, cells] of Object.entries(c.expect)) {
        const [expected] = grid(cells, 1, 2);
        SENS.forEach((s, j) => {
          assert.equal(
            decide(p, action as FileAction, { kind: 'file', ...c.file, sensitivity: s }),
            expected![j],
            `${action} / ${s}`,
          );
        });
      }
    }
  });
}

// ---------------------------------------------------------------------------
// Actions on the tenant, a department, a user or a review
// ---------------------------------------------------------------------------

// Columns: clerk, physician, head of OWN | clerk, physician, head of OTHER | admin only, dpo only, no role.
const CALLERS: Principal[] = [
  ...ROLES.map((role) => principal(`u-${role}-own`, [{ departmentId: OWN, role }])),
  ...ROLES.map((role) => principal(`u-${role}-other`, [{ departmentId: OTHER, role }])),
  principal('u-admin', [], ['admin']),
  principal('u-dpo', [], ['dpo']),
  principal('u-nobody', []),
];

const unrelatedFile: FileFacts = {
  kind: 'file',
  departmentId: THIRD,
  sharedWith: [],
  breakGlass: false,
  sensitivity: 'normal',
};
const tenant: Resource = { kind: 'tenant' };
const otherUser: Resource = { kind: 'user', userId: 'u-someone-else' };
const approval = (
  grant: 'membership' | 'role' | 'enrolment',
  over: Partial<Extract<Resource, { kind: 'approval' }>> = {},
): Resource => ({
  kind: 'approval',
  grant,
  subjectId: 'u-someone-else',
  requestedBy: 'u-another-admin',
  departmentId: OWN,
  departmentHasHead: false,
  subjectDepartments: [OWN],
  exempt: false,
  ...over,
});

const OTHER_TABLE: { action: Action; on: string; resource: (p: Principal) => Resource; expect: string }[] = [
  {
    action: 'person.create',
    on: "the caller's department OWN",
    resource: () => ({ kind: 'department', departmentId: OWN }),
    expect: 'AAA FFF FFF',
  },
  { action: 'person.search', on: 'the tenant', resource: () => tenant, expect: 'AAA AAA FFF' },
  // DICOMweb: searches run over the caller's own departments; storing needs membership of the target department.
  { action: 'study.search', on: 'the tenant', resource: () => tenant, expect: 'AAA AAA FFF' },
  {
    action: 'study.store',
    on: "the caller's department OWN",
    resource: () => ({ kind: 'department', departmentId: OWN }),
    expect: 'AAA FFF FFF',
  },
  // A department's unassigned studies: its physicians and head, who link them by hand; other departments do not learn of them.
  {
    action: 'study.unassigned',
    on: "the caller's department OWN",
    resource: () => ({ kind: 'department', departmentId: OWN }),
    expect: 'FAA HHH HHH',
  },
  { action: 'person.emergency-search', on: 'the tenant', resource: () => tenant, expect: 'AAA AAA FFF' },
  {
    action: 'person.break-glass',
    on: 'a file of an unrelated department',
    resource: () => unrelatedFile,
    expect: 'AAA AAA HHH',
  },
  { action: 'admin.department.create', on: 'the tenant', resource: () => tenant, expect: 'FFF FFF AFF' },
  { action: 'admin.department.list', on: 'the tenant', resource: () => tenant, expect: 'FFF FFF AFF' },
  { action: 'admin.user.create', on: 'the tenant', resource: () => tenant, expect: 'FFF FFF AFF' },
  { action: 'admin.user.list', on: 'the tenant', resource: () => tenant, expect: 'FFF FFF AFF' },
  { action: 'admin.user.update', on: 'another user', resource: () => otherUser, expect: 'FFF FFF AFF' },
  // A reset link for lost credentials: asked for by an admin for someone else, and fetched once approved.
  { action: 'admin.user.enrolment-request', on: 'another user', resource: () => otherUser, expect: 'FFF FFF AFF' },
  {
    action: 'admin.user.enrolment-request',
    on: 'the caller itself',
    resource: (p) => ({ kind: 'user', userId: p.userId }),
    expect: 'FFF FFF FFF',
  },
  { action: 'admin.user.enrolment-issue', on: 'another user', resource: () => otherUser, expect: 'FFF FFF AFF' },
  // A department's own rules: its head only.
  {
    action: 'department.settings.read',
    on: "the caller's department OWN",
    resource: () => ({ kind: 'department', departmentId: OWN }),
    expect: 'FFA FFF FFF',
  },
  {
    action: 'department.settings.update',
    on: "the caller's department OWN",
    resource: () => ({ kind: 'department', departmentId: OWN }),
    expect: 'FFA FFF FFF',
  },
  { action: 'approval.list', on: 'the tenant', resource: () => tenant, expect: 'FFA FFA AAF' },
  // A second account approves: a membership by the department's head, by a DPO while it has none.
  {
    action: 'approval.decide',
    on: 'a membership in OWN, which has a head',
    resource: () => approval('membership', { departmentHasHead: true }),
    expect: 'HHA HHH HHH',
  },
  {
    action: 'approval.decide',
    on: 'a membership in OWN, which has no head',
    resource: () => approval('membership'),
    expect: 'HHH HHH HAH',
  },
  {
    action: 'approval.decide',
    on: 'a tenant role',
    resource: () => approval('role', { departmentId: null }),
    expect: 'HHH HHH AAH',
  },
  // The first DPO's exemption is another DPO's to confirm or withdraw, never an admin's.
  {
    action: 'approval.decide',
    on: "the first DPO's exemption",
    resource: () => approval('role', { departmentId: null, exempt: true }),
    expect: 'HHH HHH HAH',
  },
  {
    action: 'approval.decide',
    on: 'a reset link for a member of OWN',
    resource: () => approval('enrolment', { departmentId: null }),
    expect: 'HHA HHH AHH',
  },
  // Never by the account that asked, nor by the account it is for.
  {
    action: 'approval.decide',
    on: 'a tenant role the caller asked for',
    resource: (p) => approval('role', { departmentId: null, requestedBy: p.userId }),
    expect: 'HHH HHH FFH',
  },
  {
    action: 'approval.decide',
    on: 'a grant for the caller itself',
    resource: (p) => approval('membership', { subjectId: p.userId, departmentHasHead: true }),
    expect: 'HHF HHH HHH',
  },
  { action: 'admin.user.update-access', on: 'another user', resource: () => otherUser, expect: 'FFF FFF AFF' },
  // Separation of duties: nobody grants themselves roles or memberships.
  {
    action: 'admin.user.update-access',
    on: 'the caller itself',
    resource: (p) => ({ kind: 'user', userId: p.userId }),
    expect: 'FFF FFF FFF',
  },
  { action: 'admin.device.create', on: 'the tenant', resource: () => tenant, expect: 'FFF FFF AFF' },
  { action: 'admin.device.list', on: 'the tenant', resource: () => tenant, expect: 'FFF FFF AFF' },
  { action: 'admin.device.remove', on: 'the tenant', resource: () => tenant, expect: 'FFF FFF AFF' },
  // The office's single sign-on configuration: its admins only (audited; the secret is never answered).
  { action: 'admin.sso.read', on: 'the tenant', resource: () => tenant, expect: 'FFF FFF AFF' },
  { action: 'admin.sso.update', on: 'the tenant', resource: () => tenant, expect: 'FFF FFF AFF' },
  // The office's DEMIS connection: its admins only (the secret and key are never answered).
  { action: 'admin.demis.read', on: 'the tenant', resource: () => tenant, expect: 'FFF FFF AFF' },
  { action: 'admin.demis.update', on: 'the tenant', resource: () => tenant, expect: 'FFF FFF AFF' },
  { action: 'demis.poll', on: 'the tenant', resource: () => tenant, expect: 'FFF FFF AFF' },
  // DICOM services are for registered devices only; no person, whatever its roles, acts as one.
  { action: 'dicom.echo', on: 'the tenant', resource: () => tenant, expect: 'FFF FFF FFF' },
  {
    action: 'dicom.store',
    on: "the caller's department OWN",
    resource: () => ({ kind: 'department', departmentId: OWN }),
    expect: 'FFF FFF FFF',
  },
  {
    action: 'dicom.find',
    on: "the caller's department OWN",
    resource: () => ({ kind: 'department', departmentId: OWN }),
    expect: 'FFF FFF FFF',
  },
  {
    action: 'dicom.retrieve',
    on: "the caller's department OWN",
    resource: () => ({ kind: 'department', departmentId: OWN }),
    expect: 'FFF FFF FFF',
  },
  { action: 'audit.read', on: 'the tenant', resource: () => tenant, expect: 'FFA FFA FAF' },
  { action: 'review.list', on: 'the tenant', resource: () => tenant, expect: 'FFA FFA FAF' },
  // The chain's state is the DPO's; the security report is for those who run the installation and those who oversee it.
  { action: 'audit.status', on: 'the tenant', resource: () => tenant, expect: 'FFF FFF FAF' },
  // Issue 14: a person's files across every department, for an access report, and the report over them: the DPO's alone.
  { action: 'audit.person-search', on: 'the tenant', resource: () => tenant, expect: 'FFF FFF FAF' },
  { action: 'audit.access-report', on: 'the tenant', resource: () => tenant, expect: 'FFF FFF FAF' },
  { action: 'system.security-report', on: 'the tenant', resource: () => tenant, expect: 'FFF FFF AAF' },
  // Issue 16: cases & contacts — a department's case list and follow-up worklist, for its members only.
  {
    action: 'case.list',
    on: "the caller's department OWN",
    resource: () => ({ kind: 'department', departmentId: OWN }),
    expect: 'AAA FFF FFF',
  },
  {
    action: 'follow-up.list',
    on: "the caller's department OWN",
    resource: () => ({ kind: 'department', departmentId: OWN }),
    expect: 'AAA FFF FFF',
  },
  // The installation's own chain: its single office's admin and DPO; nobody's where several offices share it.
  {
    action: 'audit.read-installation',
    on: 'a single-office installation',
    resource: () => ({ kind: 'installation', offices: 1 }),
    expect: 'FFF FFF AAF',
  },
  {
    action: 'audit.read-installation',
    on: 'a shared installation',
    resource: () => ({ kind: 'installation', offices: 2 }),
    expect: 'FFF FFF FFF',
  },
  // Only OWN's head (and the DPO) may know of a review of OWN's break-glass event.
  {
    action: 'review.decide',
    on: 'a review in OWN',
    resource: () => ({ kind: 'review', departmentId: OWN }),
    expect: 'HHA HHH HAH',
  },
  // An emergency search belongs to no department: only the DPO knows of it and decides it.
  {
    action: 'review.decide',
    on: "an emergency search's review",
    resource: () => ({ kind: 'review', departmentId: null }),
    expect: 'HHH HHH HAH',
  },
  // Ending a running grant early: the head of the file's department and the DPO, like deciding it.
  {
    action: 'break-glass.revoke',
    on: 'a grant to a file of OWN',
    resource: () => ({ kind: 'review', departmentId: OWN }),
    expect: 'HHA HHH HAH',
  },
  {
    action: 'break-glass.revoke',
    on: 'an emergency search',
    resource: () => ({ kind: 'review', departmentId: null }),
    expect: 'HHH HHH HAH',
  },
  // Issue 16: inbox. A department's inbox and quarantine: every role of that department, others forbidden
  // (importing by hand likewise; the DEMIS connection's own principal is tested below).
  ...(['notification.import', 'notification.list', 'quarantine.list'] as const).map((action) => ({
    action,
    on: "the caller's department OWN",
    resource: (): Resource => ({ kind: 'department', departmentId: OWN }),
    expect: 'AAA FFF FFF',
  })),
  // A notification or quarantine entry, resolved to its department: hidden from every other department.
  ...(
    [
      'notification.read',
      'notification.assign',
      'notification.match',
      'notification.accept',
      'notification.close',
      'quarantine.read',
      'quarantine.dismiss',
    ] as const
  ).map((action) => ({
    action,
    on: 'a notification of OWN',
    resource: (): Resource => ({ kind: 'department', departmentId: OWN }),
    expect: 'AAA HHH HHH',
  })),
  // Issue 16: outbreaks and numbers — every member of the department; a department's list and numbers
  // forbidden to others, an outbreak named by its id (resolved to its department) hidden from them.
  ...(['outbreak.create', 'outbreak.list', 'numbers.read'] as const).map((action) => ({
    action,
    on: "the caller's department OWN",
    resource: (): Resource => ({ kind: 'department', departmentId: OWN }),
    expect: 'AAA FFF FFF',
  })),
  ...(['outbreak.read', 'outbreak.update', 'outbreak.timeline'] as const).map((action) => ({
    action,
    on: 'an outbreak of OWN',
    resource: (): Resource => ({ kind: 'department', departmentId: OWN }),
    expect: 'AAA HHH HHH',
  })),
  // Issue 16: transmission — the §11 transmission: the department's physicians and head; a transmission
  // named by its id is not there for other departments.
  ...(
    [
      'transmission.preview',
      'transmission.create',
      'transmission.list',
      'transmission.settings.read',
      'transmission.settings.update',
    ] as const
  ).map((action) => ({
    action,
    on: "the caller's department OWN",
    resource: (): Resource => ({ kind: 'department', departmentId: OWN }),
    expect: 'FAA FFF FFF',
  })),
  {
    action: 'transmission.read',
    on: 'a transmission of OWN',
    resource: () => ({ kind: 'department', departmentId: OWN }),
    expect: 'FAA HHH HHH',
  }, // Issue 17: letters — a department's templates and bulk runs for its members; a run by its id hidden from others;
  // the office's templates for its admins.
  ...(['letter.templates', 'letter.bulk', 'letter.runs'] as const).map((action) => ({
    action,
    on: "the caller's department OWN",
    resource: (): Resource => ({ kind: 'department', departmentId: OWN }),
    expect: 'AAA FFF FFF',
  })),
  {
    action: 'letter.run',
    on: 'a letter run of OWN',
    resource: () => ({ kind: 'department', departmentId: OWN }),
    expect: 'AAA HHH HHH',
  },
  // Issue 17: documents — the mail-room: every member of the department lists and uploads (others forbidden);
  // a scan named by its id is hidden from other departments; deleting one is for physicians and heads.
  ...(['mailroom.list', 'mailroom.upload'] as const).map((action) => ({
    action,
    on: "the caller's department OWN",
    resource: (): Resource => ({ kind: 'department', departmentId: OWN }),
    expect: 'AAA FFF FFF',
  })),
  ...(['mailroom.read', 'mailroom.assign'] as const).map((action) => ({
    action,
    on: 'a scan in the mail-room of OWN',
    resource: (): Resource => ({ kind: 'department', departmentId: OWN }),
    expect: 'AAA HHH HHH',
  })),
  {
    action: 'mailroom.delete',
    on: 'a scan in the mail-room of OWN',
    resource: () => ({ kind: 'department', departmentId: OWN }),
    expect: 'FAA HHH HHH',
  },
  // Issue 17: tasks — a department's worklist: its members (what each sees is the worklist's), others forbidden.
  {
    action: 'task.worklist',
    on: "the caller's department OWN",
    resource: () => ({ kind: 'department', departmentId: OWN }),
    expect: 'AAA FFF FFF',
  },
  ...(
    [
      'admin.template.list',
      'admin.template.read',
      'admin.template.create',
      'admin.template.update',
      'admin.template.preview',
    ] as const
  ).map((action) => ({ action, on: 'the tenant', resource: () => tenant, expect: 'FFF FFF AFF' })),
];

// Issue 17: tasks
test("a department's own task (no file) is decided as its department: members; created elsewhere forbidden, named elsewhere hidden", () => {
  const dept: Resource = { kind: 'department', departmentId: OWN };
  const expected = { 'task.list': 'AAA HHH HHH', 'task.create': 'AAA FFF FFF', 'task.update': 'AAA HHH HHH' } as const;
  for (const [action, expect] of Object.entries(expected)) {
    const want = grid(expect, 3, 3).flat();
    CALLERS.forEach((p, i) => {
      assert.equal(decide(p, action as Action, dept), want[i], `${action} ${i}`);
    });
  }
  // Other file actions are never decided on a department.
  const member = principal('u-h', [{ departmentId: OWN, role: 'head' }]);
  assert.equal(decide(member, 'record.read', dept), 'forbidden');
});

test('the DEMIS connection imports into its own department only, and does nothing else', () => {
  const demis: Principal = {
    userId: `demis:${OWN}`,
    tenantId: 'tenant-1',
    tenantRoles: [],
    memberships: [],
    service: { kind: 'demis', departmentId: OWN },
  };
  assert.equal(decide(demis, 'notification.import', { kind: 'department', departmentId: OWN }), 'allow');
  assert.equal(decide(demis, 'notification.import', { kind: 'department', departmentId: OTHER }), 'forbidden');
  for (const action of ['notification.list', 'person.create', 'study.store'] as const)
    assert.equal(decide(demis, action, { kind: 'department', departmentId: OWN }), 'forbidden', action);
  assert.equal(decide(demis, 'notification.read', { kind: 'department', departmentId: OWN }), 'hidden');
});

test('the non-file table covers exactly the other actions the policy knows', () => {
  assert.deepEqual([...new Set(OTHER_TABLE.map((r) => r.action))].sort(), [...OTHER_ACTIONS].sort());
});

for (const row of OTHER_TABLE) {
  test(`${row.action} on ${row.on}`, () => {
    const expected = grid(row.expect, 3, 3).flat();
    assert.equal(expected.length, CALLERS.length);
    CALLERS.forEach((p, i) => {
      const who = `${p.memberships.map((m) => `${m.role}@${m.departmentId}`).join('+') || p.tenantRoles.join('+') || 'no role'}`;
      assert.equal(decide(p, row.action, row.resource(p)), expected[i], who);
    });
  });
}

test('person.create is decided by membership of that department, not by any membership', () => {
  const p = principal(
    'u-multi',
    [
      { departmentId: OTHER, role: 'head' },
      { departmentId: THIRD, role: 'clerk' },
    ],
    ['admin', 'dpo'],
  );
  assert.equal(decide(p, 'person.create', { kind: 'department', departmentId: OWN }), 'forbidden');
  assert.equal(decide(p, 'person.create', { kind: 'department', departmentId: THIRD }), 'allow');
});

test('an admin with memberships and the DPO role still cannot update its own access', () => {
  const p = principal('u-all', [{ departmentId: OWN, role: 'head' }], ['admin', 'dpo']);
  assert.equal(decide(p, 'admin.user.update-access', { kind: 'user', userId: 'u-all' }), 'forbidden');
  assert.equal(decide(p, 'admin.user.update-access', { kind: 'user', userId: 'u-other' }), 'allow');
});

test('review.decide: a head of several departments decides only reviews of those it heads', () => {
  const p = principal('u-h', [
    { departmentId: OWN, role: 'clerk' },
    { departmentId: OTHER, role: 'head' },
  ]);
  assert.equal(decide(p, 'review.decide', { kind: 'review', departmentId: OTHER }), 'allow');
  assert.equal(decide(p, 'review.decide', { kind: 'review', departmentId: OWN }), 'hidden');
  assert.equal(decide(p, 'review.decide', { kind: 'review', departmentId: THIRD }), 'hidden');
});

// ---------------------------------------------------------------------------
// DICOM devices
// ---------------------------------------------------------------------------

const device = (permissions: DevicePermission[]): Principal => ({
  userId: 'device-1',
  tenantId: 'tenant-1',
  tenantRoles: [],
  memberships: [],
  device: { departmentId: OWN, permissions },
});

// Columns: the device's own department OWN, another department OTHER, the tenant.
// Each cell's letters: a device with no permission, store only, find only, retrieve only, all three.
const PERMISSION_SETS: DevicePermission[][] = [[], ['store'], ['find'], ['retrieve'], ['store', 'find', 'retrieve']];
const DEVICE_TABLE: Record<string, { own: string; other: string; tenant: string }> = {
  'dicom.echo': { own: 'FFFFF', other: 'FFFFF', tenant: 'AAAAA' },
  'dicom.store': { own: 'FAFFA', other: 'FFFFF', tenant: 'FFFFF' },
  'dicom.find': { own: 'FFAFA', other: 'FFFFF', tenant: 'FFFFF' },
  'dicom.retrieve': { own: 'FFFAA', other: 'FFFFF', tenant: 'FFFFF' },
};

for (const [action, cells] of Object.entries(DEVICE_TABLE)) {
  test(`device ${action}: permissions × department`, () => {
    const on: [string, Resource][] = [
      [cells.own, { kind: 'department', departmentId: OWN }],
      [cells.other, { kind: 'department', departmentId: OTHER }],
      [cells.tenant, tenant],
    ];
    for (const [letters, r] of on) {
      const [expected] = grid(letters, 1, PERMISSION_SETS.length);
      PERMISSION_SETS.forEach((perms, i) => {
        assert.equal(
          decide(device(perms), action as Action, r),
          expected![i],
          `${perms.join('+') || 'none'} on ${JSON.stringify(r)}`,
        );
      });
    }
  });
}

test('a device with every permission is refused everything a person may do', () => {
  const d = device(['store', 'find', 'retrieve']);
  const ownFile: FileFacts = {
    kind: 'file',
    departmentId: OWN,
    sharedWith: [OWN],
    breakGlass: true,
    sensitivity: 'normal',
  };
  for (const action of Object.keys(FILE_RULES) as FileAction[])
    assert.notEqual(decide(d, action, ownFile), 'allow', action);
  for (const action of OTHER_ACTIONS.filter((a) => !a.startsWith('dicom.'))) {
    for (const r of [tenant, { kind: 'department', departmentId: OWN } as Resource, ownFile, otherUser]) {
      assert.notEqual(decide(d, action, r), 'allow', `${action} on ${r.kind}`);
    }
  }
});

// ---------------------------------------------------------------------------
// API tokens: scopes on top of the roles
// ---------------------------------------------------------------------------

/** Written out by hand: what each scope covers. Everything else is never done with a token. */
const SCOPE_COVERS: Record<TokenScope, Action[]> = {
  'records:read': [
    'person.read',
    'person.search',
    'record.list',
    'record.read',
    'record.versions',
    'study.list',
    'share.list',
    'study.unassigned',
    // Issue 16: inbox
    'notification.list',
    'notification.read',
    'quarantine.list',
    'quarantine.read',
    // Issue 16: outbreaks and numbers
    'outbreak.list',
    'outbreak.read',
    'numbers.read',
    // Issue 16: cases & contacts
    'case.list',
    'follow-up.list',
    'contact.list',
    // Issue 17: documents
    'document.list',
    'document.read',
    'mailroom.list',
    'mailroom.read',
    // Issue 17: tasks
    'task.list',
    'task.worklist',
    // Issue 17: letters
    'letter.templates',
    'letter.runs',
    'letter.run',
  ],
  'records:write': [
    'person.create',
    'person.update',
    'record.create',
    'record.update',
    'record.delete',
    'study.link',
    // Issue 16: inbox
    'notification.assign',
    'notification.match',
    'notification.accept',
    'notification.close',
    'quarantine.dismiss',
    // Issue 16: outbreaks and numbers
    'outbreak.create',
    'outbreak.update',
    'outbreak.timeline',
    // Issue 16: cases & contacts
    'contact.create',
    'contact.convert',
    'follow-up.record',
    // Issue 17: documents
    'document.add',
    'document.delete',
    'mailroom.upload',
    'mailroom.assign',
    'mailroom.delete',
    // Issue 17: tasks
    'task.create',
    'task.update',
    // Issue 17: letters
    'letter.generate',
  ],
  'dicomweb:read': ['study.search', 'study.read'],
  'dicomweb:store': ['study.store'],
  'audit:read': ['person.access-log', 'audit.read', 'audit.status', 'audit.read-installation', 'review.list'],
  admin: [
    'admin.department.create',
    'admin.department.list',
    'admin.user.create',
    'admin.user.list',
    'admin.user.update',
    'admin.device.create',
    'admin.device.list',
    'admin.device.remove',
    'approval.list',
    'system.security-report',
    'admin.sso.read',
    'admin.demis.read',
    'demis.poll',
    // Issue 17: letters
    'admin.template.list',
    'admin.template.read',
    'admin.template.preview',
  ],
};
/** A person's decisions (emergency access, sharing, reviews, approvals, grants, reset links) and the devices' own actions. */
const SESSION_ONLY: Action[] = [
  'person.emergency-search',
  'person.break-glass',
  'file.share',
  'share.revoke',
  'review.decide',
  'break-glass.revoke',
  'approval.decide',
  'admin.user.update-access',
  'admin.user.enrolment-request',
  'admin.user.enrolment-issue',
  'department.settings.read',
  'department.settings.update',
  'admin.sso.update',
  'admin.demis.update',
  'audit.person-search',
  'audit.access-report',
  'person.access-report',
  'dicom.echo',
  'dicom.store',
  'dicom.find',
  'dicom.retrieve',
  // Issue 16: person merge
  'person.merge',
  'person.merge-confirm',
  'person.merge-undo',
  // Issue 16: transmission
  'transmission.preview',
  'transmission.create',
  'transmission.list',
  'transmission.read',
  'transmission.settings.read',
  'transmission.settings.update',
  // Issue 16: inbox. A bundle uploaded by hand is a person's act in a session.
  'notification.import',
  // Issue 17: letters — a bulk run and editing the office's templates.
  'letter.bulk',
  'admin.template.create',
  'admin.template.update',
];

const withToken = (p: Principal, scopes: TokenScope[]): Principal => ({ ...p, token: { tokenId: 'token-1', scopes } });

/** A token decides as its owner's session where its scopes cover the action; else an allow becomes forbidden, and a hidden file stays hidden. */
function checkToken(p: Principal, action: Action, r: Resource, what: string) {
  const session = decide(p, action, r);
  for (const scopes of [...TOKEN_SCOPES.map((x) => [x]), [...TOKEN_SCOPES], []] as TokenScope[][]) {
    const covered = scopes.some((x) => SCOPE_COVERS[x].includes(action));
    const expected = session === 'allow' && !covered ? 'forbidden' : session;
    assert.equal(decide(withToken(p, scopes), action, r), expected, `${what}: ${action} with [${scopes.join(' ')}]`);
  }
}

test('every action is either covered by exactly one scope or done in a session only', () => {
  const listed = [...Object.values(SCOPE_COVERS).flat(), ...SESSION_ONLY];
  assert.equal(new Set(listed).size, listed.length, 'each action once');
  assert.deepEqual([...listed].sort(), [...Object.keys(FILE_RULES), ...OTHER_ACTIONS].sort());
  assert.deepEqual(Object.keys(SCOPE_COVERS).sort(), [...TOKEN_SCOPES].sort());
});

test('a token acts on files only within its scopes, and what its owner cannot see stays hidden', () => {
  for (const action of Object.keys(FILE_RULES) as FileAction[]) {
    for (const role of ['clerk', 'physician', 'head'] as DepartmentRole[]) {
      for (const rel of RELATIONS) {
        for (const sensitivity of SENS)
          checkToken(
            principal('u-1', [{ departmentId: OWN, role }], ['dpo']),
            action,
            fileFor(rel, sensitivity),
            `${role} ${rel} ${sensitivity}`,
          );
      }
    }
  }
});

test('a token does the tenant-wide things only within its scopes', () => {
  for (const row of OTHER_TABLE)
    for (const p of CALLERS)
      checkToken(
        p,
        row.action,
        row.resource(p),
        `${row.on} as ${p.tenantRoles.join('+') || p.memberships.map((m) => m.role).join('+')}`,
      );
});

test('with every scope, a token still never does what is for a session only', () => {
  const everyone = principal('u-1', [{ departmentId: OWN, role: 'head' }], ['admin', 'dpo']);
  const token = withToken(everyone, [...TOKEN_SCOPES]);
  const file = fileFor('breakGlass', 'normal');
  for (const action of SESSION_ONLY) {
    for (const r of [
      tenant,
      otherUser,
      file,
      { kind: 'department', departmentId: OWN } as Resource,
      { kind: 'review', departmentId: OWN } as Resource,
    ]) {
      assert.notEqual(decide(token, action, r), 'allow', `${action} on ${r.kind}`);
    }
  }
});
