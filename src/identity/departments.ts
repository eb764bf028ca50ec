// The office's departments, administered by its admins through the gate: a
// new department gets its own key (keyring: tenant → department → person), and
// its code is unique in the office. Codes and names are no personal data. And a
// department's own rule, set by its head: whether members who may not read its
// restricted records (clerks) see them listed at all.
import { randomUUID } from 'node:crypto';
import { decidedDepartment, type GateContext } from '../access/gate.ts';
import type { Tx } from '../db/connect.ts';
import { fieldRefused, type FieldProblem } from '../errors.ts';
import type { Keyring } from '../vault/keyring.ts';

interface NewDepartment {
  code: string;
  name: string;
}

/** Null when the department is one of the office's; otherwise the problem of the field that named it. */
export async function unknownDepartment(
  tx: Tx,
  tenantId: string,
  departmentId: string,
  field = 'departmentId',
): Promise<FieldProblem | null> {
  const found = await tx
    .selectFrom('departments')
    .select('id')
    .where('id', '=', departmentId)
    .where('tenant_id', '=', tenantId)
    .executeTakeFirst();
  return found ? null : { field, code: 'department-unknown', message: 'no such department' };
}

/** Creates a department with its key; its id, also on the record. A taken code answers 409 naming `code`. */
export async function createDepartment(ctx: GateContext, keyring: Keyring, d: NewDepartment): Promise<string> {
  const tenantId = ctx.principal.tenantId;
  const taken = await ctx.tx
    .selectFrom('departments')
    .select('id')
    .where('tenant_id', '=', tenantId)
    .where('code', '=', d.code)
    .executeTakeFirst();
  if (taken) throw fieldRefused('conflict', 'code', 'taken', 'a department with this code exists');
  const id = randomUUID();
  await ctx.tx
    .insertInto('departments')
    .values({ id, tenant_id: tenantId, code: d.code, name: d.name, created_at: ctx.now })
    .execute();
  await keyring.createDepartmentKey(ctx.tx, tenantId, id);
  ctx.audit.resourceId = id;
  return id;
}

/** The office's departments by code. */
export function listDepartments(ctx: GateContext) {
  return ctx.tx
    .selectFrom('departments')
    .select(['id', 'code', 'name'])
    .where('tenant_id', '=', ctx.principal.tenantId)
    .orderBy('code')
    .execute();
}

/** A department's setting for listing restricted records to members who may not read them. */
export async function restrictedListing(ctx: GateContext, departmentId: string): Promise<'shown' | 'hidden'> {
  const row = await ctx.tx
    .selectFrom('departments')
    .select('restricted_listing')
    .where('id', '=', departmentId)
    .executeTakeFirst();
  return row?.restricted_listing === 'hidden' ? 'hidden' : 'shown';
}

/** A department's settings: how restricted records are listed to members who may not read them. */
export async function departmentSettings(ctx: GateContext) {
  return { restrictedListing: await restrictedListing(ctx, decidedDepartment(ctx)) };
}

/** Sets how the department's restricted records are listed to members who may not read them. */
export async function setRestrictedListing(ctx: GateContext, listing: 'shown' | 'hidden') {
  const departmentId = decidedDepartment(ctx);
  await ctx.tx
    .updateTable('departments')
    .set({ restricted_listing: listing })
    .where('id', '=', departmentId)
    .where('tenant_id', '=', ctx.principal.tenantId)
    .execute();
  ctx.audit.detail = { restrictedListing: listing };
  return { restrictedListing: listing };
}
