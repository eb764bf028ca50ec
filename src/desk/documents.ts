// A file's documents (issue 17): uploads and generated letters, each version a sealed file with its own
// data key wrapped by the file's person key (documents-files.ts). Adding a generated document for the same
// template (and record) again makes a new version of it; a list says who added what and when; reading a
// version unwraps its key inside the gate and streams the bytes; a delete hides the document with a sealed
// reason and keeps it until its retention ends. The mail-room (mailroom.ts) and uploads (attachments.ts)
// build on the same rows. Implements the letters' DocumentSink.
import { randomUUID } from 'node:crypto';
import type { GateContext } from '../access/gate.ts';
import { decidedPerson } from '../access/gate.ts';
import type { Sensitivity } from '../access/policy.ts';
import { KarteiError, fieldRefused } from '../errors.ts';
import { restrictedListing } from '../identity/departments.ts';
import { displayNames } from '../identity/users.ts';
import { lockFile, refuseMerged, stale } from '../records/persons.ts';
import { RECORD_TYPES, retainUntil, type RecordType } from '../records/record-types.ts';
import type { Keyring } from '../vault/keyring.ts';
import { openField, sealField } from '../vault/keyring.ts';
import type { ReceivedUpload } from './attachments.ts';
import type { DocumentSink, GeneratedDocument } from './document-sink.ts';
import {
  deleteReasonBinding,
  type DocumentFiles,
  nameBinding,
  unwrapDataKey,
  type WrittenVersion,
  wrapDataKey,
} from './documents-files.ts';

type DocumentKind = 'upload' | 'generated';

/** A document as a list shows it: who added it and when, its current version, size and type. */
export interface DocumentListItem {
  id: string;
  personId: string | null;
  kind: DocumentKind;
  sensitivity: Sensitivity;
  version: number;
  /** null where the caller may not read the document (restricted) or it does not open. */
  title: string | null;
  fileName: string | null;
  mediaType: string;
  size: number;
  templateId: string | null;
  templateVersion: number | null;
  recordId: string | null;
  createdAt: string;
  createdBy: string;
  createdByName: string | null;
  updatedAt: string;
  updatedBy: string;
  updatedByName: string | null;
}

/** What the sealed name field holds. */
interface VersionName {
  title: string;
  fileName: string;
}

/** A version's bytes to stream out, with what a download needs. */
export interface DocumentContent {
  documentId: string;
  version: number;
  fileName: string;
  mediaType: string;
  size: number;
  body: AsyncGenerator<Buffer>;
}

type DocumentRow = {
  id: string;
  department_id: string;
  person_id: string | null;
  version: number;
  sensitivity: string;
};

/** A file name as stored and offered for download: no path, no control characters, at most 200 characters. */
function cleanFileName(name: string): string {
  const base = name.split(/[/\\]/).at(-1) ?? '';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is removed
  const clean = base.replace(/[\u0000-\u001f\u007f"]/g, '').trim();
  return clean.slice(Math.max(0, clean.length - 200)) || 'Dokument';
}

/** How long a deleted document not made for a record is kept (a record's own type says for those). */
const DEFAULT_RETENTION_YEARS = 10;

const inYears = (from: string, years: number) => {
  const d = new Date(from);
  d.setUTCFullYear(d.getUTCFullYear() + years);
  return d.toISOString();
};

export class Documents implements DocumentSink {
  readonly keyring: Keyring;
  readonly files: DocumentFiles;
  constructor(keyring: Keyring, files: DocumentFiles) {
    this.keyring = keyring;
    this.files = files;
  }

  /** The key a document's data keys are wrapped with: its file's person key, or its department's in the mail-room. */
  ownerKey(ctx: GateContext, d: { department_id: string; person_id: string | null }): Promise<Buffer> {
    const tenantId = ctx.principal.tenantId;
    return d.person_id
      ? this.keyring.personKey(ctx.tx, tenantId, d.department_id, d.person_id)
      : this.keyring.departmentKey(ctx.tx, tenantId, d.department_id);
  }

  /**
   * Issue 17: a generated letter or certificate into the file the gate decided on (a file action). The same
   * template for the same file and record again is a new version of the same document — at the record's
   * sensitivity: one made after the record was relabelled is another document, so a letter made from a restricted
   * version stays restricted with its versions (as the record's restricted versions stay).
   */
  async addGenerated(ctx: GateContext, doc: GeneratedDocument): Promise<{ documentId: string; version: number }> {
    const { tx, principal } = ctx;
    const personId = decidedPerson(ctx);
    if (doc.personId !== personId) throw new Error('the generated document is not for the file the gate decided on');
    await lockFile(ctx, personId);
    await refuseMerged(ctx, personId);
    let sensitivity: Sensitivity = 'normal';
    if (doc.recordId) {
      const r = await tx
        .selectFrom('records')
        .select(['person_id', 'sensitivity'])
        .where('id', '=', doc.recordId)
        .where('tenant_id', '=', principal.tenantId)
        .where('deleted_at', 'is', null)
        .executeTakeFirst();
      if (!r || r.person_id !== personId)
        throw fieldRefused('validation-failed', 'recordId', 'invalid', 'not a record of this file');
      sensitivity = r.sensitivity as Sensitivity;
    }
    let q = tx
      .selectFrom('documents')
      .select(['id', 'version'])
      .where('tenant_id', '=', principal.tenantId)
      .where('person_id', '=', personId)
      .where('kind', '=', 'generated')
      .where('template_id', '=', doc.template.id)
      .where('sensitivity', '=', sensitivity)
      .where('deleted_at', 'is', null);
    q = doc.recordId ? q.where('record_id', '=', doc.recordId) : q.where('record_id', 'is', null);
    const existing = await q.executeTakeFirst();
    const documentId = existing?.id ?? randomUUID();
    const version = (existing?.version ?? 0) + 1;
    const departmentId = ctx.target.departmentId!;
    const written = await this.files.writeWhole(principal.tenantId, departmentId, documentId, version, doc.bytes);
    try {
      if (existing) {
        const moved = await tx
          .updateTable('documents')
          .set({ version, sensitivity, updated_at: ctx.now, updated_by: principal.userId })
          .where('id', '=', documentId)
          .where('version', '=', existing.version)
          .executeTakeFirst();
        if (Number(moved.numUpdatedRows) !== 1) throw stale(existing.version);
      } else {
        await this.insertDocument(
          ctx,
          { id: documentId, department_id: departmentId, person_id: personId },
          'generated',
          sensitivity,
          { templateId: doc.template.id, recordId: doc.recordId ?? null },
        );
      }
      await this.storeVersion(ctx, { id: documentId, department_id: departmentId, person_id: personId }, version, {
        ...written,
        mediaType: doc.mediaType,
        size: doc.bytes.length,
        title: doc.title,
        fileName: cleanFileName(doc.fileName),
        templateVersion: doc.template.version,
      });
    } catch (e) {
      await this.files.remove(written.relPath);
      throw e;
    }
    ctx.audit.detail = {
      ...ctx.audit.detail,
      documentId,
      documentVersion: version,
      templateId: doc.template.id,
      templateVersion: doc.template.version,
      size: doc.bytes.length,
      mediaType: doc.mediaType,
    };
    return { documentId, version };
  }

  /** An upload into the file the gate decided on (`document.add`): its sealed file committed, then its rows. */
  async addUpload(
    ctx: GateContext,
    upload: ReceivedUpload,
    sensitivity: Sensitivity,
  ): Promise<{ id: string; version: number }> {
    const personId = decidedPerson(ctx);
    // Written under the department decided before the body was read; a file never changes department.
    if (ctx.target.departmentId !== upload.departmentId)
      throw new Error('the upload was sealed for another department');
    await lockFile(ctx, personId);
    await refuseMerged(ctx, personId);
    await upload.commit();
    const d = { id: upload.documentId, department_id: upload.departmentId, person_id: personId };
    await this.insertDocument(ctx, d, 'upload', sensitivity);
    await this.storeVersion(ctx, d, 1, upload.version);
    ctx.audit.detail = {
      documentId: d.id,
      documentVersion: 1,
      size: upload.version.size,
      mediaType: upload.version.mediaType,
    };
    return { id: d.id, version: 1 };
  }

  /** A new document's row at version 1. */
  async insertDocument(
    ctx: GateContext,
    d: { id: string; department_id: string; person_id: string | null },
    kind: DocumentKind,
    sensitivity: Sensitivity,
    made?: { templateId: string; recordId: string | null },
  ): Promise<void> {
    const { principal } = ctx;
    await ctx.tx
      .insertInto('documents')
      .values({
        id: d.id,
        tenant_id: principal.tenantId,
        department_id: d.department_id,
        person_id: d.person_id,
        kind,
        sensitivity,
        version: 1,
        template_id: made?.templateId ?? null,
        record_id: made?.recordId ?? null,
        created_at: ctx.now,
        created_by: principal.userId,
        updated_at: ctx.now,
        updated_by: principal.userId,
        deleted_at: null,
        deleted_by: null,
        delete_reason_enc: null,
        retain_until: null,
      })
      .execute();
  }

  /** The row of a version: its name sealed with its own data key, that key wrapped with the owner's. */
  async storeVersion(
    ctx: GateContext,
    d: { id: string; department_id: string; person_id: string | null },
    version: number,
    v: WrittenVersion,
  ): Promise<void> {
    const tenantId = ctx.principal.tenantId;
    const owner = await this.ownerKey(ctx, d);
    const name: VersionName = { title: v.title, fileName: v.fileName };
    await ctx.tx
      .insertInto('document_versions')
      .values({
        document_id: d.id,
        version,
        tenant_id: tenantId,
        media_type: v.mediaType,
        size: v.size,
        name_enc: sealField(v.dataKey, nameBinding(tenantId, d.id, version), name),
        data_key_enc: wrapDataKey(owner, tenantId, d.id, version, v.dataKey),
        template_version: v.templateVersion,
        created_at: ctx.now,
        created_by: ctx.principal.userId,
      })
      .execute();
  }

  /**
   * The live documents of the file the gate decided on (`document.list`), newest first. Names are opened only
   * where the caller may read the document; where the department hides restricted entries, those are left out.
   */
  async list(ctx: GateContext): Promise<DocumentListItem[]> {
    const personId = decidedPerson(ctx);
    const readsRestricted = ctx.may('document.read', 'restricted');
    const hideRestricted = !readsRestricted && (await restrictedListing(ctx, ctx.target.departmentId!)) === 'hidden';
    const items = await this.listWhere(ctx, { personId, hideRestricted }, (s) =>
      s === 'normal' ? ctx.may('document.read') : readsRestricted,
    );
    ctx.audit.detail = { count: items.length };
    return items;
  }

  /** Documents of one file, or (personId null) of one department's mail-room, with their current versions. */
  async listWhere(
    ctx: GateContext,
    where: { personId: string | null; departmentId?: string; hideRestricted?: boolean },
    readable: (s: Sensitivity) => boolean,
  ): Promise<DocumentListItem[]> {
    const { tx, principal } = ctx;
    const tenantId = principal.tenantId;
    let q = tx
      .selectFrom('documents')
      .innerJoin('document_versions', (j) =>
        j
          .onRef('document_versions.document_id', '=', 'documents.id')
          .onRef('document_versions.version', '=', 'documents.version'),
      )
      .selectAll('documents')
      .select([
        'document_versions.media_type',
        'document_versions.size',
        'document_versions.name_enc',
        'document_versions.data_key_enc',
        'document_versions.template_version',
      ])
      .where('documents.tenant_id', '=', tenantId)
      .where('documents.deleted_at', 'is', null);
    q = where.personId
      ? q.where('documents.person_id', '=', where.personId)
      : q.where('documents.person_id', 'is', null).where('documents.department_id', '=', where.departmentId!);
    if (where.hideRestricted) q = q.where('documents.sensitivity', '=', 'normal');
    const rows = await q.orderBy('documents.created_at', 'desc').orderBy('documents.id', 'desc').execute();
    const names = await displayNames(
      ctx,
      this.keyring,
      rows.flatMap((r) => [r.created_by, r.updated_by]),
    );
    const items: DocumentListItem[] = [];
    for (const r of rows) {
      let name: VersionName | null = null;
      if (readable(r.sensitivity as Sensitivity)) {
        try {
          const key = unwrapDataKey(await this.ownerKey(ctx, r), tenantId, r.id, r.version, r.data_key_enc);
          name = openField<VersionName>(key, nameBinding(tenantId, r.id, r.version), r.name_enc);
        } catch {
          name = null;
        }
      }
      items.push({
        id: r.id,
        personId: r.person_id,
        kind: r.kind as DocumentKind,
        sensitivity: r.sensitivity as Sensitivity,
        version: r.version,
        title: name?.title ?? null,
        fileName: name?.fileName ?? null,
        mediaType: r.media_type,
        size: Number(r.size),
        templateId: r.template_id,
        templateVersion: r.template_version,
        recordId: r.record_id,
        createdAt: r.created_at,
        createdBy: r.created_by,
        createdByName: names.get(r.created_by) ?? null,
        updatedAt: r.updated_at,
        updatedBy: r.updated_by,
        updatedByName: names.get(r.updated_by) ?? null,
      });
    }
    return items;
  }

  /**
   * A version's bytes (the current one unless named), its key unwrapped inside the gate's transaction;
   * the returned body streams from the sealed file and authenticates every chunk.
   */
  async read(ctx: GateContext, documentId: string, version?: number): Promise<DocumentContent> {
    const { tx, principal } = ctx;
    const tenantId = principal.tenantId;
    const d = await this.row(ctx, documentId);
    // Where the gate decided: the file it resolved, or the mail-room (an assignment or merge since is not read here).
    if (d.person_id !== ctx.target.personId) throw new KarteiError('not-found');
    const v = await tx
      .selectFrom('document_versions')
      .select(['version', 'media_type', 'size', 'name_enc', 'data_key_enc'])
      .where('document_id', '=', documentId)
      .where('tenant_id', '=', tenantId)
      .where('version', '=', version ?? d.version)
      .executeTakeFirst();
    if (!v) throw new KarteiError('not-found');
    const key = unwrapDataKey(await this.ownerKey(ctx, d), tenantId, documentId, v.version, v.data_key_enc);
    const name = openField<VersionName>(key, nameBinding(tenantId, documentId, v.version), v.name_enc);
    ctx.audit.detail = { version: v.version, size: Number(v.size), mediaType: v.media_type };
    return {
      documentId,
      version: v.version,
      fileName: name.fileName,
      mediaType: v.media_type,
      size: Number(v.size),
      body: this.files.read(tenantId, d.department_id, documentId, v.version, key),
    };
  }

  /** Deletes a document of the decided file with a reason (sealed); kept until its retention ends. */
  async remove(ctx: GateContext, documentId: string, reason: string): Promise<void> {
    const personId = decidedPerson(ctx);
    await lockFile(ctx, personId);
    const d = await this.row(ctx, documentId);
    if (d.person_id !== personId) throw stale(d.version);
    await this.markDeleted(ctx, d, reason);
  }

  /** Hides a document (file or mail-room) with its reason sealed under the current version's data key. */
  async markDeleted(ctx: GateContext, d: DocumentRow & { record_id?: string | null }, reason: string) {
    const { tx, principal } = ctx;
    const tenantId = principal.tenantId;
    const v = await tx
      .selectFrom('document_versions')
      .select('data_key_enc')
      .where('document_id', '=', d.id)
      .where('tenant_id', '=', tenantId)
      .where('version', '=', d.version)
      .executeTakeFirstOrThrow();
    const key = unwrapDataKey(await this.ownerKey(ctx, d), tenantId, d.id, d.version, v.data_key_enc);
    const recordType = d.record_id
      ? ((await tx.selectFrom('records').select('type').where('id', '=', d.record_id).executeTakeFirst())?.type as
          | RecordType
          | undefined)
      : undefined;
    const done = await tx
      .updateTable('documents')
      .set({
        deleted_at: ctx.now,
        deleted_by: principal.userId,
        delete_reason_enc: sealField(key, deleteReasonBinding(tenantId, d.id), reason),
        retain_until:
          recordType && recordType in RECORD_TYPES
            ? retainUntil(recordType, new Date(ctx.now))
            : inYears(ctx.now, DEFAULT_RETENTION_YEARS),
      })
      .where('id', '=', d.id)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    if (Number(done.numUpdatedRows) !== 1) throw new KarteiError('not-found');
    ctx.audit.reason = reason;
    ctx.audit.detail = { version: d.version };
  }

  /**
   * Re-wraps every version's data key of a document from one owner key to another (a scan assigned to a
   * file, a file merged): the small keys change, the sealed bytes and names stay as they are.
   */
  async rewrap(ctx: GateContext, documentId: string, from: Buffer, to: Buffer): Promise<number> {
    const tenantId = ctx.principal.tenantId;
    const versions = await ctx.tx
      .selectFrom('document_versions')
      .select(['version', 'data_key_enc'])
      .where('document_id', '=', documentId)
      .where('tenant_id', '=', tenantId)
      .execute();
    for (const v of versions) {
      let key: Buffer;
      try {
        key = unwrapDataKey(from, tenantId, documentId, v.version, v.data_key_enc);
      } catch {
        throw fieldRefused('conflict', 'id', 'merge-unreadable', 'a document does not open; nothing was moved');
      }
      await ctx.tx
        .updateTable('document_versions')
        .set({ data_key_enc: wrapDataKey(to, tenantId, documentId, v.version, key) })
        .where('document_id', '=', documentId)
        .where('version', '=', v.version)
        .where('tenant_id', '=', tenantId)
        .execute();
    }
    return versions.length;
  }

  /** A live document's row (the gate resolved it; a merge may have moved it since). */
  async row(ctx: GateContext, documentId: string): Promise<DocumentRow & { record_id: string | null }> {
    const d = await ctx.tx
      .selectFrom('documents')
      .select(['id', 'department_id', 'person_id', 'version', 'sensitivity', 'record_id'])
      .where('id', '=', documentId)
      .where('tenant_id', '=', ctx.principal.tenantId)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    if (!d) throw new KarteiError('not-found');
    return d;
  }
}
