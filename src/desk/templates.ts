// Issue 17: letters — an office's letter templates (department null: offered to every department; or one
// department's): create, change on top of a version (every save a new version, the old ones kept: a letter
// names the version it was made from; stale → 409), list, read with its versions, and the starting templates.
// The content (name, letterhead, wording) is sealed with the office's key: it names no person, but it is the
// office's own data, the key is at hand for every department and for the admin who is in none, and sealing
// costs one AES-GCM per save. A template naming a field its kind does not offer is refused when saved.
import { randomUUID } from 'node:crypto';
import type { GateContext } from '../access/gate.ts';
import { LETTER_TEMPLATE_KINDS, type TemplateContent, type TemplateView } from '../contract/letters.ts';
import { fieldRefused, fieldsRefused, KarteiError } from '../errors.ts';
import { displayNames } from '../identity/users.ts';
import { openField, sealField, type Keyring } from '../vault/keyring.ts';
import { catalogue, KIND_RECORDS, type TemplateKind } from './template-fields.ts';
import { templateProblems } from './templates-fill.ts';
import { STARTER_TEMPLATES } from './templates-starters.ts';

const binding = (tenantId: string, templateId: string, version: number) => ({
  tenantId,
  table: 'letter_template_versions',
  rowId: `${templateId}:${version}`,
  field: 'content',
});

/** A template's texts that may hold fields, by their path in the request body. */
export function templateTexts(c: TemplateContent): Record<string, string> {
  return {
    name: c.name,
    'letterhead.officeName': c.letterhead.officeName,
    ...Object.fromEntries(c.letterhead.addressLines.map((l, i) => [`letterhead.addressLines.${i}`, l])),
    ...(c.letterhead.phone ? { 'letterhead.phone': c.letterhead.phone } : {}),
    ...(c.letterhead.email ? { 'letterhead.email': c.letterhead.email } : {}),
    senderLine: c.senderLine,
    ...(c.reference ? { reference: c.reference } : {}),
    subject: c.subject,
    body: c.body,
    signature: c.signature,
  };
}

/** Refuses a template with an unknown field or an unclosed `{{`, naming each place (field `content.<part>`). */
export function checkTemplate(kind: TemplateKind, content: TemplateContent): void {
  const problems = templateProblems(kind, templateTexts(content), 'content.');
  if (problems.length > 0) throw fieldsRefused('validation-failed', problems);
}

/** One template version as the letters read it. */
export interface TemplateVersion {
  id: string;
  departmentId: string | null;
  kind: TemplateKind;
  version: number;
  active: boolean;
  content: TemplateContent;
}

export const kindRecord = (kind: TemplateKind) => ({
  recordType: KIND_RECORDS[kind].recordType,
  recordRequired: KIND_RECORDS[kind].required,
});

export const catalogueOf = (kind: TemplateKind) =>
  catalogue(kind).map((f) => ({ name: f.name, label: f.label, from: f.from }));

export class Templates {
  private readonly keyring: Keyring;
  constructor(keyring: Keyring) {
    this.keyring = keyring;
  }

  /** The office's templates, every department's included (the admin's list). */
  async list(ctx: GateContext) {
    const rows = await this.currentRows(ctx).orderBy('t.department_id').orderBy('t.created_at').execute();
    const key = await this.keyring.tenantKey(ctx.tx, ctx.principal.tenantId);
    return rows.map((r) => {
      const content = openField<TemplateContent>(key, binding(ctx.principal.tenantId, r.id, r.version), r.content_enc);
      return {
        id: r.id,
        departmentId: r.department_id,
        kind: r.kind as TemplateKind,
        version: r.version,
        active: r.active === 1,
        name: content.name,
        updatedAt: r.updated_at,
      };
    });
  }

  /** The active templates a department makes letters from: the office's and its own. */
  async usable(ctx: GateContext, departmentId: string) {
    const rows = await this.currentRows(ctx)
      .where('t.active', '=', 1)
      .where((eb) => eb.or([eb('t.department_id', 'is', null), eb('t.department_id', '=', departmentId)]))
      .orderBy('t.created_at')
      .execute();
    const key = await this.keyring.tenantKey(ctx.tx, ctx.principal.tenantId);
    return rows.map((r) => ({
      id: r.id,
      departmentId: r.department_id,
      kind: r.kind as TemplateKind,
      version: r.version,
      name: openField<TemplateContent>(key, binding(ctx.principal.tenantId, r.id, r.version), r.content_enc).name,
      ...kindRecord(r.kind as TemplateKind),
    }));
  }

  /** One template at its current version with its history and field catalogue. */
  async read(ctx: GateContext, id: string): Promise<TemplateView> {
    const t = await this.version(ctx, id);
    const versions = await ctx.tx
      .selectFrom('letter_template_versions')
      .select(['version', 'created_at', 'created_by'])
      .where('template_id', '=', id)
      .where('tenant_id', '=', ctx.principal.tenantId)
      .orderBy('version', 'desc')
      .execute();
    const names = await displayNames(
      ctx,
      this.keyring,
      versions.map((v) => v.created_by),
    );
    const row = await this.row(ctx, id);
    return {
      id,
      departmentId: t.departmentId,
      kind: t.kind,
      version: t.version,
      active: t.active,
      name: t.content.name,
      updatedAt: row.updated_at,
      content: t.content,
      ...kindRecord(t.kind),
      fields: catalogueOf(t.kind),
      versions: versions.map((v) => ({
        version: v.version,
        createdAt: v.created_at,
        createdBy: v.created_by,
        createdByName: names.get(v.created_by) ?? null,
      })),
    };
  }

  /** A template at `version` (default: its current one). */
  async version(ctx: GateContext, id: string, version?: number): Promise<TemplateVersion> {
    const row = await this.row(ctx, id);
    const v = version ?? row.version;
    const stored = await ctx.tx
      .selectFrom('letter_template_versions')
      .select('content_enc')
      .where('template_id', '=', id)
      .where('version', '=', v)
      .where('tenant_id', '=', ctx.principal.tenantId)
      .executeTakeFirst();
    if (!stored) throw new KarteiError('not-found');
    const key = await this.keyring.tenantKey(ctx.tx, ctx.principal.tenantId);
    return {
      id,
      departmentId: row.department_id,
      kind: row.kind as TemplateKind,
      version: v,
      active: row.active === 1,
      content: openField<TemplateContent>(key, binding(ctx.principal.tenantId, id, v), stored.content_enc),
    };
  }

  async create(
    ctx: GateContext,
    input: { departmentId: string | null; kind: TemplateKind; content: TemplateContent },
  ): Promise<{ id: string; version: number }> {
    if (!LETTER_TEMPLATE_KINDS.includes(input.kind))
      throw fieldRefused('validation-failed', 'kind', 'not-one-of', 'unknown kind');
    checkTemplate(input.kind, input.content);
    const tenantId = ctx.principal.tenantId;
    if (input.departmentId !== null) {
      const dept = await ctx.tx
        .selectFrom('departments')
        .select('id')
        .where('id', '=', input.departmentId)
        .where('tenant_id', '=', tenantId)
        .executeTakeFirst();
      if (!dept) throw fieldRefused('validation-failed', 'departmentId', 'department-unknown', 'no such department');
    }
    const id = randomUUID();
    await ctx.tx
      .insertInto('letter_templates')
      .values({
        id,
        tenant_id: tenantId,
        department_id: input.departmentId,
        kind: input.kind,
        version: 1,
        active: 1,
        created_at: ctx.now,
        created_by: ctx.principal.userId,
        updated_at: ctx.now,
        updated_by: ctx.principal.userId,
      })
      .execute();
    await this.writeVersion(ctx, id, 1, input.content);
    ctx.audit.resourceId = id;
    ctx.audit.detail = { templateId: id, version: 1, kind: input.kind, office: input.departmentId === null };
    return { id, version: 1 };
  }

  /** A new version on top of `version`; a stale one is refused with the current version. */
  async update(
    ctx: GateContext,
    id: string,
    input: { version: number; content: TemplateContent; active?: boolean },
  ): Promise<{ id: string; version: number }> {
    const row = await this.row(ctx, id);
    const kind = row.kind as TemplateKind;
    checkTemplate(kind, input.content);
    const next = input.version + 1;
    const moved = await ctx.tx
      .updateTable('letter_templates')
      .set({
        version: next,
        ...(input.active === undefined ? {} : { active: input.active ? 1 : 0 }),
        updated_at: ctx.now,
        updated_by: ctx.principal.userId,
      })
      .where('id', '=', id)
      .where('tenant_id', '=', ctx.principal.tenantId)
      .where('version', '=', input.version)
      .executeTakeFirst();
    if (Number(moved.numUpdatedRows) !== 1) {
      const current = await this.row(ctx, id);
      throw new KarteiError('stale-version', `version: the template is at version ${current.version}`, {
        field: 'version',
        currentVersion: current.version,
      });
    }
    await this.writeVersion(ctx, id, next, input.content);
    ctx.audit.detail = {
      templateId: id,
      version: next,
      kind,
      ...(input.active === undefined ? {} : { active: input.active }),
    };
    return { id, version: next };
  }

  /**
   * The starting templates (invitation, §36 certificate, §30 isolation order, expert opinion cover letter),
   * as office templates, for each kind the office has no template of yet; answers how many were made.
   */
  async createStarters(ctx: GateContext): Promise<number> {
    const office = await ctx.tx
      .selectFrom('tenants')
      .select('name')
      .where('id', '=', ctx.principal.tenantId)
      .executeTakeFirstOrThrow();
    const have = new Set(
      (
        await ctx.tx
          .selectFrom('letter_templates')
          .select('kind')
          .where('tenant_id', '=', ctx.principal.tenantId)
          .where('department_id', 'is', null)
          .execute()
      ).map((r) => r.kind),
    );
    let made = 0;
    for (const starter of STARTER_TEMPLATES(office.name)) {
      if (have.has(starter.kind)) continue;
      checkTemplate(starter.kind, starter.content);
      const id = randomUUID();
      await ctx.tx
        .insertInto('letter_templates')
        .values({
          id,
          tenant_id: ctx.principal.tenantId,
          department_id: null,
          kind: starter.kind,
          version: 1,
          active: 1,
          created_at: ctx.now,
          created_by: ctx.principal.userId,
          updated_at: ctx.now,
          updated_by: ctx.principal.userId,
        })
        .execute();
      await this.writeVersion(ctx, id, 1, starter.content);
      made++;
    }
    ctx.audit.detail = { created: made };
    return made;
  }

  private currentRows(ctx: GateContext) {
    return ctx.tx
      .selectFrom('letter_templates as t')
      .innerJoin('letter_template_versions as v', (j) =>
        j.onRef('v.template_id', '=', 't.id').onRef('v.version', '=', 't.version'),
      )
      .select(['t.id', 't.department_id', 't.kind', 't.version', 't.active', 't.updated_at', 'v.content_enc'])
      .where('t.tenant_id', '=', ctx.principal.tenantId);
  }

  private async row(ctx: GateContext, id: string) {
    const row = await ctx.tx
      .selectFrom('letter_templates')
      .selectAll()
      .where('id', '=', id)
      .where('tenant_id', '=', ctx.principal.tenantId)
      .executeTakeFirst();
    if (!row) throw new KarteiError('not-found');
    return row;
  }

  private async writeVersion(ctx: GateContext, id: string, version: number, content: TemplateContent) {
    const tenantId = ctx.principal.tenantId;
    const key = await this.keyring.tenantKey(ctx.tx, tenantId);
    await ctx.tx
      .insertInto('letter_template_versions')
      .values({
        template_id: id,
        version,
        tenant_id: tenantId,
        content_enc: sealField(key, binding(tenantId, id, version), content),
        created_at: ctx.now,
        created_by: ctx.principal.userId,
      })
      .execute();
  }
}
