// The office's departments, administered by its admins through the gate: a
// new department gets its own key (keyring: tenant → department → person), and
// its code is unique in the office. Codes and names are no personal data.
import { randomUUID } from 'node:crypto';
import type { GateContext } from '../access/gate.ts';
import { fieldRefused } from '../errors.ts';
import type { Keyring } from '../vault/keyring.ts';

export interface NewDepartment {
  code: string;
  name: string;
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
