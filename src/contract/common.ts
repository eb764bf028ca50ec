// Answer shapes several areas share (ids, departments, roles), as zod schemas:
// the server checks every JSON answer against them and the browser reads their types.
// Free of Node code: the web application imports this module too.
import { z } from 'zod';

/** A created resource: `201 {id}`. */
export const created = z.strictObject({ id: z.string() });
/** `204 No Content`: the answer has no body. */
export const noContent = z.undefined().describe('No content');

export const sensitivity = z.enum(['normal', 'restricted']);
const departmentRole = z.enum(['clerk', 'physician', 'head']);
export const tenantRole = z.enum(['admin', 'dpo']);

export const department = z.strictObject({ id: z.string(), code: z.string(), name: z.string() });
export const membership = z.strictObject({ departmentId: z.string(), role: departmentRole });

export type Sensitivity = z.infer<typeof sensitivity>;
export type DepartmentRole = z.infer<typeof departmentRole>;
export type TenantRole = z.infer<typeof tenantRole>;
export type Department = z.infer<typeof department>;
export type Membership = z.infer<typeof membership>;
