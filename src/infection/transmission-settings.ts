// A department's settings for the §11 IfSG transmission: its district (the Amtlicher
// Gemeindeschlüssel, AGS, of the office's Kreis: 5 digits, or 8 with the municipality) and the
// recipient (the state authority), versioned like everything editable. The recipient is sealed
// with the department key; the district code names an office, never a person, and stays plain.
import { z } from 'zod';
import { decidedDepartment, type GateContext } from '../access/gate.ts';
import { AGS_PATTERN, type TransmissionSettings } from '../contract/infection-transmission.ts';
import { serialise } from '../db/connect.ts';
import { FORMAT_RULES } from '../errors.ts';
import { stale } from '../records/persons.ts';
import { openField, sealField, type Keyring } from '../vault/keyring.ts';

/** What a head or physician sends to set the settings; `version` 0 for the first time. */
export const settingsInput = z.strictObject({
  districtCode: z
    .string()
    .trim()
    .max(8)
    .refine((v) => AGS_PATTERN.test(v), { message: '5 or 8 digits (AGS)', params: { code: 'ags-format' } }),
  recipient: z
    .string()
    .trim()
    .min(1)
    .max(200)
    .regex(/^[^\0]*$/, FORMAT_RULES.noNul),
  version: z.number().int().nonnegative(),
});
export type SettingsInput = z.infer<typeof settingsInput>;

const recipientBinding = (tenantId: string, departmentId: string) => ({
  tenantId,
  table: 'transmission_settings',
  rowId: departmentId,
  field: 'recipient',
});

/** The settings as the transmission uses them, or null while none are saved. */
export async function currentSettings(
  ctx: GateContext,
  keyring: Keyring,
): Promise<{ districtCode: string; recipient: string; version: number; updatedAt: string } | null> {
  const departmentId = decidedDepartment(ctx);
  const tenantId = ctx.principal.tenantId;
  const row = await ctx.tx
    .selectFrom('transmission_settings')
    .selectAll()
    .where('department_id', '=', departmentId)
    .where('tenant_id', '=', tenantId)
    .executeTakeFirst();
  if (!row) return null;
  const key = await keyring.departmentKey(ctx.tx, tenantId, departmentId);
  return {
    districtCode: row.district_code,
    recipient: openField<string>(key, recipientBinding(tenantId, departmentId), row.recipient_enc),
    version: row.version,
    updatedAt: row.updated_at,
  };
}

export async function readSettings(ctx: GateContext, keyring: Keyring): Promise<TransmissionSettings> {
  const s = await currentSettings(ctx, keyring);
  return s ?? { districtCode: null, recipient: null, version: 0, updatedAt: null };
}

/** Saves the settings on top of `version` (0: none yet); a stale version answers 409 with the current one. */
export async function updateSettings(
  ctx: GateContext,
  keyring: Keyring,
  input: SettingsInput,
): Promise<TransmissionSettings> {
  const departmentId = decidedDepartment(ctx);
  const tenantId = ctx.principal.tenantId;
  // Two first saves at once must not both insert (PostgreSQL; SQLite writes one at a time anyway).
  await serialise(ctx.tx, `transmission-settings:${tenantId}:${departmentId}`);
  const key = await keyring.departmentKey(ctx.tx, tenantId, departmentId);
  const values = {
    district_code: input.districtCode,
    recipient_enc: sealField(key, recipientBinding(tenantId, departmentId), input.recipient),
    version: input.version + 1,
    updated_at: ctx.now,
    updated_by: ctx.principal.userId,
  };
  const current = await ctx.tx
    .selectFrom('transmission_settings')
    .select('version')
    .where('department_id', '=', departmentId)
    .where('tenant_id', '=', tenantId)
    .executeTakeFirst();
  if ((current?.version ?? 0) !== input.version) throw stale(current?.version ?? 0);
  if (!current) {
    await ctx.tx
      .insertInto('transmission_settings')
      .values({ department_id: departmentId, tenant_id: tenantId, ...values })
      .execute();
  } else {
    const moved = await ctx.tx
      .updateTable('transmission_settings')
      .set(values)
      .where('department_id', '=', departmentId)
      .where('tenant_id', '=', tenantId)
      .where('version', '=', input.version)
      .executeTakeFirst();
    if (Number(moved.numUpdatedRows) !== 1) throw stale(input.version + 1);
  }
  ctx.audit.detail = { version: input.version + 1 };
  return {
    districtCode: input.districtCode,
    recipient: input.recipient,
    version: input.version + 1,
    updatedAt: ctx.now,
  };
}
