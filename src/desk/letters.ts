// Issue 17: letters — making one letter in a person's file, inside the gate's `letter.generate` on that file:
// the template (the office's or the file's department's, active; a bulk run pins its version), the record it
// is made for (read as `record.read` on it, a restricted one only by physicians and heads), the person, the
// sender; the fields filled in one pass, the PDF/A made in memory, stored sealed through the DocumentSink in
// the same transaction, and a `letter_generations` row whose request key is unique: a retry, a double click or
// a resumed run answers the letter already made instead of a second one. Any failure throws: the transaction,
// and with it the document, is undone. Audited with the template's id and version, never the content.
import { randomUUID } from 'node:crypto';
import { decidedPerson, type GateContext } from '../access/gate.ts';
import type { LetterMade } from '../contract/letters.ts';
import { serialise } from '../db/connect.ts';
import { fieldRefused, fieldsRefused, KarteiError } from '../errors.ts';
import { displayNames } from '../identity/users.ts';
import type { Persons } from '../records/persons.ts';
import type { Records } from '../records/records.ts';
import type { Keyring } from '../vault/keyring.ts';
import type { DocumentSink } from './document-sink.ts';
import { letterPdf, type LetterLayout } from './letter-pdf.ts';
import { germanDate, KIND_RECORDS, type FillSource } from './template-fields.ts';
import { templateTexts, type Templates, type TemplateVersion } from './templates.ts';
import { cleanValue, fillText, templateProblems } from './templates-fill.ts';

export interface GenerateInput {
  templateId: string;
  /** The record the letter is made for (of the kind's record type, in this file). */
  recordId?: string;
  /** The caller's key for this one letter (a UUID per dialog, or `run:<runId>:<personId>`): a repeat makes nothing new. */
  requestKey: string;
}

/** Today in the office's time zone, YYYY-MM-DD. */
const officeToday = (now: string) =>
  new Intl.DateTimeFormat('en-CA', {
    timeZone: 'Europe/Berlin',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(new Date(now));

/** German umlauts as they are written without them (Röntgen → Roentgen, not Rontgen). */
const UMLAUTS: Record<string, string> = { ä: 'ae', ö: 'oe', ü: 'ue', Ä: 'Ae', Ö: 'Oe', Ü: 'Ue', ß: 'ss' };

/** A file name from the template's name and the date: letters, digits and hyphens only. */
function letterFileName(name: string, today: string): string {
  const base = name
    .normalize('NFC')
    .replace(/[äöüÄÖÜß]/g, (c) => UMLAUTS[c]!)
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^A-Za-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60);
  return `${base || 'Schreiben'}-${germanDate(today)}.pdf`;
}

export class Letters {
  private readonly keyring: Keyring;
  private readonly persons: Persons;
  private readonly records: Records;
  private readonly templates: Templates;
  private readonly sink: () => DocumentSink | undefined;
  /** Makes the PDF; replaced only by a test that makes it fail. */
  renderPdf: (letter: LetterLayout) => Promise<Buffer> = (letter) => letterPdf(letter);

  constructor(
    keyring: Keyring,
    persons: Persons,
    records: Records,
    templates: Templates,
    sink: () => DocumentSink | undefined,
  ) {
    this.keyring = keyring;
    this.persons = persons;
    this.records = records;
    this.templates = templates;
    this.sink = sink;
  }

  /** Whether a document store is wired (without one no letter can be stored; runs wait for it). */
  ready(): boolean {
    return this.sink() !== undefined;
  }

  /**
   * Makes one letter in the file the gate decided on. `pinned`: a bulk run's template version, and the run
   * whose item is marked done in this same transaction.
   */
  async generate(
    ctx: GateContext,
    input: GenerateInput,
    pinned?: { version: number; runId: string },
  ): Promise<LetterMade> {
    const personId = decidedPerson(ctx);
    const tenantId = ctx.principal.tenantId;
    const departmentId = ctx.target.departmentId!;
    // Two requests with one key wait for each other here (PostgreSQL); SQLite runs them one after the other anyway.
    await serialise(ctx.tx, `kartei.letter-request:${input.requestKey}`);
    const earlier = await ctx.tx
      .selectFrom('letter_generations')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('request_key', '=', input.requestKey)
      .executeTakeFirst();
    if (earlier) {
      if (earlier.person_id !== personId || earlier.template_id !== input.templateId)
        throw fieldRefused('conflict', 'requestKey', 'taken', 'this request key made another letter');
      ctx.audit.detail = {
        templateId: earlier.template_id,
        templateVersion: earlier.template_version,
        documentId: earlier.document_id,
        repeated: true,
      };
      return {
        documentId: earlier.document_id,
        documentVersion: earlier.document_version,
        templateId: earlier.template_id,
        templateVersion: earlier.template_version,
        created: false,
      };
    }

    const template = await this.usableTemplate(ctx, input.templateId, departmentId, pinned?.version);
    const { recordType, required } = KIND_RECORDS[template.kind];
    // The catalogue may have changed since the template was saved: check again.
    if (templateProblems(template.kind, templateTexts(template.content)).length > 0)
      throw fieldRefused(
        'validation-failed',
        'templateId',
        'template-field-unknown',
        'the template names a field its kind does not offer',
      );

    let record: Record<string, unknown> | undefined;
    if (input.recordId !== undefined) {
      if (recordType === null)
        throw fieldRefused(
          'validation-failed',
          'recordId',
          'record-unsuitable',
          'this kind of letter is made for no record',
        );
      await ctx.also('record.read', { kind: 'record', recordId: input.recordId });
      const r = await this.records.get(ctx, input.recordId);
      if (r.personId !== personId || r.type !== recordType)
        throw fieldRefused(
          'validation-failed',
          'recordId',
          'record-unsuitable',
          `not a ${recordType} record of this file`,
        );
      if (!ctx.may('letter.generate', r.sensitivity)) throw new KarteiError('forbidden');
      record = r.content;
    }
    const usesRecord = Object.values(templateTexts(template.content)).some((t) => /\{\{\s*record\./.test(t));
    if (!record && (required || usesRecord))
      throw fieldRefused('validation-failed', 'recordId', 'record-required', `a ${recordType} record is needed`);
    if (template.kind === 'certificate-36' && record?.result !== 'negative')
      throw fieldRefused(
        'validation-failed',
        'recordId',
        'certificate-not-negative',
        'a § 36 certificate is made only for a screening without findings (result negative)',
      );

    const person = await this.persons.get(ctx, personId);
    const names = await displayNames(ctx, this.keyring, [ctx.principal.userId]);
    const department = await ctx.tx
      .selectFrom('departments')
      .select('name')
      .where('id', '=', departmentId)
      .where('tenant_id', '=', tenantId)
      .executeTakeFirstOrThrow();
    const today = officeToday(ctx.now);
    const source: FillSource = {
      person,
      record,
      user: { displayName: names.get(ctx.principal.userId) ?? '' },
      department: { name: department.name },
      today,
    };
    const fill = (text: string) => fillText(template.kind, text, source);
    const c = template.content;
    // The expert opinion's cover letter goes to the commissioning authority; every other letter to the person.
    const recipient =
      template.kind === 'expert-opinion-cover'
        ? String(record?.requestedBy ?? '').split('\n')
        : [
            `${person.givenName} ${person.familyName}`,
            person.address?.street ?? '',
            [person.address?.postalCode, person.address?.city].filter(Boolean).join(' '),
          ];
    const subject = fill(c.subject);
    const layout: LetterLayout = {
      title: subject,
      letterhead: {
        officeName: fill(c.letterhead.officeName),
        addressLines: c.letterhead.addressLines.map(fill),
        phone: c.letterhead.phone ? fill(c.letterhead.phone) : undefined,
        email: c.letterhead.email ? fill(c.letterhead.email) : undefined,
      },
      senderLine: fill(c.senderLine),
      recipient: recipient.map(cleanValue),
      date: germanDate(today),
      reference: c.reference ? fill(c.reference) : undefined,
      subject,
      body: fill(c.body),
      signature: fill(c.signature),
    };

    const sink = this.sink();
    if (!sink) throw new KarteiError('letter-failed', 'no document store is configured for generated letters');
    let bytes: Buffer;
    try {
      bytes = await this.renderPdf(layout);
    } catch {
      // The reason stays in no log or answer: it could quote the letter.
      throw new KarteiError('letter-failed', 'the PDF could not be made; nothing was stored');
    }
    const doc = await sink.addGenerated(ctx, {
      personId,
      title: subject,
      fileName: letterFileName(fill(c.name), today),
      mediaType: 'application/pdf',
      bytes,
      template: { id: template.id, version: template.version },
      ...(input.recordId ? { recordId: input.recordId } : {}),
    });
    await ctx.tx
      .insertInto('letter_generations')
      .values({
        id: randomUUID(),
        tenant_id: tenantId,
        request_key: input.requestKey,
        person_id: personId,
        template_id: template.id,
        template_version: template.version,
        record_id: input.recordId ?? null,
        document_id: doc.documentId,
        document_version: doc.version,
        run_id: pinned?.runId ?? null,
        created_at: ctx.now,
        created_by: ctx.principal.userId,
      })
      .execute();
    ctx.audit.detail = {
      templateId: template.id,
      templateVersion: template.version,
      kind: template.kind,
      documentId: doc.documentId,
      bytes: bytes.length,
      ...(input.recordId ? { recordId: input.recordId } : {}),
      ...(pinned ? { runId: pinned.runId } : {}),
    };
    return {
      documentId: doc.documentId,
      documentVersion: doc.version,
      templateId: template.id,
      templateVersion: template.version,
      created: true,
    };
  }

  /** A template this file's department may use (the office's or its own, active), at `version` or its current one. */
  private async usableTemplate(
    ctx: GateContext,
    templateId: string,
    departmentId: string,
    version?: number,
  ): Promise<TemplateVersion> {
    const unknown = () =>
      fieldRefused(
        'validation-failed',
        'templateId',
        'template-unknown',
        'no template of the office or this department',
      );
    let t: TemplateVersion;
    try {
      t = await this.templates.version(ctx, templateId, version);
    } catch (e) {
      if (e instanceof KarteiError && e.code === 'not-found') throw unknown();
      throw e;
    }
    if ((t.departmentId !== null && t.departmentId !== departmentId) || (!t.active && version === undefined))
      throw unknown();
    return t;
  }
}

/** The sample a template's preview is filled with: nobody's data. */
const SAMPLE = (now: string, user: string): FillSource => ({
  person: {
    familyName: 'Mustermann',
    givenName: 'Erika',
    birthDate: '1964-08-12',
    sex: 'female',
    address: { street: 'Heidestraße 17', postalCode: '51147', city: 'Köln' },
  },
  record: {
    date: officeToday(now),
    method: 'chest-x-ray',
    result: 'negative',
    disease: { code: 'mytb', display: 'Tuberkulose' },
    measures: [{ kind: 'isolation', from: officeToday(now), until: officeToday(now), legalBasis: '§ 30 Abs. 1 IfSG' }],
    requestedBy: 'Landesamt für Besoldung und Versorgung\nPersonalstelle\nPostfach 10 20 30\n50667 Köln',
    requestedOn: officeToday(now),
  },
  user: { displayName: user },
  department: { name: 'Abteilung (Beispiel)' },
  today: officeToday(now),
});

/** A template (saved or not) filled with sample data, as the PDF a letter would be: the admin's preview. */
export async function previewPdf(
  kind: TemplateVersion['kind'],
  content: TemplateVersion['content'],
  now: string,
  userName: string,
): Promise<Buffer> {
  const problems = templateProblems(kind, templateTexts(content), 'content.');
  if (problems.length > 0) throw fieldsRefused('validation-failed', problems);
  const source = SAMPLE(now, userName);
  const fill = (text: string) => fillText(kind, text, source);
  try {
    return await letterPdf({
      title: fill(content.subject),
      letterhead: {
        officeName: fill(content.letterhead.officeName),
        addressLines: content.letterhead.addressLines.map(fill),
        phone: content.letterhead.phone ? fill(content.letterhead.phone) : undefined,
        email: content.letterhead.email ? fill(content.letterhead.email) : undefined,
      },
      senderLine: fill(content.senderLine),
      recipient:
        kind === 'expert-opinion-cover'
          ? String(source.record?.requestedBy).split('\n')
          : ['Erika Mustermann', 'Heidestraße 17', '51147 Köln'],
      date: germanDate(source.today),
      reference: content.reference ? fill(content.reference) : undefined,
      subject: fill(content.subject),
      body: fill(content.body),
      signature: fill(content.signature),
    });
  } catch {
    throw new KarteiError('letter-failed', 'the PDF could not be made');
  }
}
