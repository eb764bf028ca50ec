// Shapes shared by several routes, validated at the edge.
import { z } from 'zod';
import { FORMAT_RULES } from '../errors.ts';
import { DEPARTMENT_ROLES, TENANT_ROLES } from '../access/policy.ts';
import { MAX_LENGTH } from '../identity/passwords.ts';
import { MIN_REASON, reasonProblem } from '../records/reason-text.ts';

/** PostgreSQL text cannot hold NUL: text stored as such refuses it here (422), not in the driver (500). */
export const NO_NUL = [/^[^\0]*$/, FORMAT_RULES.noNul] as const;
export const id = z
  .string()
  .min(1)
  .max(64)
  .regex(...NO_NUL);
export const idParams = z.strictObject({ id });
export const username = z
  .string()
  .trim()
  .min(3)
  .max(64)
  .regex(/^[\p{L}\p{N}._@-]+$/u, FORMAT_RULES.username);
export const password = z.string().min(1).max(MAX_LENGTH);
export const displayName = z.string().trim().min(1).max(200);
const membership = z.strictObject({ departmentId: id, role: z.enum(DEPARTMENT_ROLES) });
export const tenantRoles = z.array(z.enum(TENANT_ROLES)).max(TENANT_ROLES.length);
export const memberships = z.array(membership).max(50);
export const sensitivity = z.enum(['normal', 'restricted']);
export const version = z.number().int().positive();
export const reason = (min: number) => z.string().trim().min(min).max(2_000);

/** A domain rule as a refinement: the problem it finds is the field's issue, with its field code. */
export const checkedBy =
  (problemOf: (v: string) => { code: string; message: string; params?: Record<string, unknown> } | null) =>
  (v: string, ctx: z.RefinementCtx) => {
    const problem = problemOf(v);
    if (problem)
      ctx.addIssue({ code: 'custom', message: problem.message, params: { code: problem.code, ...problem.params } });
  };

/** What a search for a file by its person goes by: the emergency search's and the DPO's for an access report. */
export const nameAndBirthDate = {
  familyName: z.string().trim().min(2).max(200).regex(/\p{L}/u, 'must contain letters'),
  birthDate: z.iso.date(),
};

/**
 * A reason or purpose a reviewer can judge (break-glass, emergency search, share):
 * at least `min` characters of real text, see src/records/reason-text.ts.
 */
export const reasonText = (min = MIN_REASON) =>
  z
    .string()
    .trim()
    .max(2_000)
    .superRefine(checkedBy((v) => reasonProblem(v, min)));
