// A domain function working on "this department" or "this person's file" takes it from
// what the gate decided (decidedDepartment, decidedPerson), and refuses any other target.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decidedDepartment, decidedPerson, type GateContext } from '../../src/access/gate.ts';
import type { Resolved } from '../../src/access/resolve.ts';

const ctxOn = (target: Resolved) => ({ target }) as unknown as GateContext;

test('decidedDepartment: the department resource the gate decided on, nothing else', () => {
  const dept = ctxOn({
    resource: { kind: 'department', departmentId: 'd1' },
    resourceId: 'd1',
    personId: null,
    departmentId: 'd1',
  });
  assert.equal(decidedDepartment(dept), 'd1');
  const tenant = ctxOn({ resource: { kind: 'tenant' }, resourceId: null, personId: null, departmentId: null });
  assert.throws(() => decidedDepartment(tenant), /not a department/);
});

test("decidedPerson: the person whose file the gate decided on; a department is no person's file", () => {
  const file = ctxOn({
    resource: { kind: 'file', departmentId: 'd1', sharedWith: [], breakGlass: false, sensitivity: 'normal' } as never,
    resourceId: 'p1',
    personId: 'p1',
    departmentId: 'd1',
  });
  assert.equal(decidedPerson(file), 'p1');
  const dept = ctxOn({
    resource: { kind: 'department', departmentId: 'd1' },
    resourceId: 'd1',
    personId: null,
    departmentId: 'd1',
  });
  assert.throws(() => decidedPerson(dept), /not a person's file/);
});
