// Sharing a file with another department, for a purpose and a period. The
// receiving department reads (never edits) until the share ends by itself.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { GateContext } from '../access/gate.ts';
import { fieldsRefused, type FieldProblem } from '../errors.ts';
import { MIN_REASON, reasonProblem } from './reason-text.ts';
import { unknownDepartment } from '../identity/departments.ts';
import type { Keyring } from '../vault/keyring.ts';
import { openField, sealField } from '../vault/keyring.ts';

const MAX_SHARE_DAYS = 366;
/** A share ends on a day (`2026-12-31`, the day's end) or at an instant with its offset. */
const SHARE_END = z.iso.datetime({ offset: true }).or(z.iso.date());

export const purposeBinding = (tenantId: string, shareId: string) => ({
  tenantId,
  table: 'shares',
  rowId: shareId,
  field: 'purpose',
});

export class Sharing {
  private readonly keyring: Keyring;
  constructor(keyring: Keyring) {
    this.keyring = keyring;
  }

  async share(
    ctx: GateContext,
    personId: string,
    input: { departmentId: string; purpose: string; until: string },
  ): Promise<string> {
    const { tx, principal } = ctx;
    const tenantId = principal.tenantId;
    const until = SHARE_END.safeParse(input.until).success ? new Date(input.until) : null;
    const problems: FieldProblem[] = [];
    const notAReason = reasonProblem(input.purpose, MIN_REASON);
    if (notAReason) problems.push({ field: 'purpose', ...notAReason });
    if (input.departmentId === ctx.target.departmentId)
      problems.push({
        field: 'departmentId',
        code: 'department-own',
        message: 'the file already belongs to this department',
      });
    else {
      const unknown = await unknownDepartment(tx, tenantId, input.departmentId);
      if (unknown) problems.push(unknown);
    }
    const late = until
      ? untilProblem(until, Date.parse(ctx.now))
      : { code: 'invalid-date' as const, message: 'an ISO 8601 date or instant' };
    if (late) problems.push({ field: 'until', ...late });
    if (problems.length > 0) throw fieldsRefused('validation-failed', problems);
    const id = randomUUID();
    const key = await this.keyring.tenantKey(tx, tenantId);
    await tx
      .insertInto('shares')
      .values({
        id,
        tenant_id: tenantId,
        person_id: personId,
        from_department_id: ctx.target.departmentId!,
        to_department_id: input.departmentId,
        purpose_enc: sealField(key, purposeBinding(tenantId, id), input.purpose),
        until: until!.toISOString(),
        created_at: ctx.now,
        created_by: principal.userId,
        revoked_at: null,
        revoked_by: null,
      })
      .execute();
    ctx.audit.resourceId = id;
    ctx.audit.reason = input.purpose;
    ctx.audit.detail = { toDepartmentId: input.departmentId, until: until!.toISOString() };
    return id;
  }

  /** The file's shares that have neither ended nor been revoked. */
  async list(ctx: GateContext, personId: string) {
    const tenantId = ctx.principal.tenantId;
    const rows = await ctx.tx
      .selectFrom('shares')
      .select(['id', 'to_department_id', 'purpose_enc', 'until', 'created_at'])
      .where('tenant_id', '=', tenantId)
      .where('person_id', '=', personId)
      .where('revoked_at', 'is', null)
      .where('until', '>', ctx.now)
      .orderBy('created_at')
      .execute();
    const key = await this.keyring.tenantKey(ctx.tx, tenantId);
    return rows.map((r) => ({
      id: r.id,
      departmentId: r.to_department_id,
      purpose: openField<string>(key, purposeBinding(tenantId, r.id), r.purpose_enc),
      until: r.until,
      createdAt: r.created_at,
    }));
  }

  async revoke(ctx: GateContext, shareId: string): Promise<void> {
    await ctx.tx
      .updateTable('shares')
      .set({ revoked_at: ctx.now, revoked_by: ctx.principal.userId })
      .where('id', '=', shareId)
      .where('revoked_at', 'is', null)
      .execute();
  }
}

/** Why a share cannot end at `until`: its field code and English phrase, or null. */
function untilProblem(until: Date, now: number): Omit<FieldProblem, 'field'> | null {
  if (until.getTime() <= now) return { code: 'must-be-future', message: 'must lie in the future' };
  if (until.getTime() > now + MAX_SHARE_DAYS * 86_400_000)
    return { code: 'too-far-ahead', message: `at most ${MAX_SHARE_DAYS} days ahead`, params: { days: MAX_SHARE_DAYS } };
  return null;
}
