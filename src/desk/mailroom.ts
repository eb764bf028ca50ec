// A department's mail-room (issue 17): scans that arrived but belong to no file yet. Each is a document
// without a person, its data keys wrapped with the department key; listing, reading and deleting are
// department actions. Assigning one to a file is decided on that file too (`document.add`), re-wraps
// the data keys with the person key (the sealed bytes stay as they are) and succeeds once: a second
// assignment, a colleague's at the same time included, is refused as a conflict.
import type { GateContext } from '../access/gate.ts';
import { decidedDepartment } from '../access/gate.ts';
import type { Sensitivity } from '../access/policy.ts';
import { fieldRefused } from '../errors.ts';
import { lockFile, refuseMerged, stale } from '../records/persons.ts';
import type { ReceivedUpload } from './attachments.ts';
import type { DocumentListItem, Documents } from './documents.ts';

const alreadyAssigned = () =>
  fieldRefused('conflict', 'id', 'already-assigned', 'the scan was assigned to a file or deleted already');

export class Mailroom {
  private readonly documents: Documents;
  constructor(documents: Documents) {
    this.documents = documents;
  }

  /** A scan into the decided department's mail-room (`mailroom.upload`). */
  async upload(ctx: GateContext, upload: ReceivedUpload): Promise<{ id: string; version: number }> {
    const departmentId = decidedDepartment(ctx);
    if (departmentId !== upload.departmentId) throw new Error('the scan was sealed for another department');
    await upload.commit();
    const d = { id: upload.documentId, department_id: departmentId, person_id: null };
    await this.documents.insertDocument(ctx, d, 'upload', 'normal');
    await this.documents.storeVersion(ctx, d, 1, upload.version);
    ctx.audit.detail = {
      documentId: d.id,
      documentVersion: 1,
      size: upload.version.size,
      mediaType: upload.version.mediaType,
    };
    return { id: d.id, version: 1 };
  }

  /** The decided department's unassigned scans, newest first (`mailroom.list`). */
  async list(ctx: GateContext): Promise<DocumentListItem[]> {
    const items = await this.documents.listWhere(
      ctx,
      { personId: null, departmentId: decidedDepartment(ctx) },
      () => true,
    );
    ctx.audit.detail = { count: items.length };
    return items;
  }

  /**
   * Assigns the scan the gate resolved (`mailroom.assign`) to a file of the same department, decided as
   * `document.add` on that file; `version` is the scan's version the caller saw.
   */
  async assign(
    ctx: GateContext,
    documentId: string,
    input: { personId: string; version: number; sensitivity: Sensitivity },
  ): Promise<{ id: string; personId: string }> {
    const { tx, principal } = ctx;
    const departmentId = decidedDepartment(ctx);
    const file = await ctx.also('document.add', {
      kind: 'person',
      personId: input.personId,
      sensitivity: input.sensitivity,
    });
    if (file.departmentId !== departmentId)
      throw fieldRefused(
        'validation-failed',
        'personId',
        'mailroom-other-department',
        "the file belongs to another department than the scan's mail-room",
      );
    await lockFile(ctx, input.personId);
    await refuseMerged(ctx, input.personId);
    const claimed = await tx
      .updateTable('documents')
      .set({
        person_id: input.personId,
        sensitivity: input.sensitivity,
        updated_at: ctx.now,
        updated_by: principal.userId,
      })
      .where('id', '=', documentId)
      .where('tenant_id', '=', principal.tenantId)
      .where('person_id', 'is', null)
      .where('deleted_at', 'is', null)
      .where('version', '=', input.version)
      .executeTakeFirst();
    if (Number(claimed.numUpdatedRows) !== 1) {
      const now = await tx
        .selectFrom('documents')
        .select(['person_id', 'deleted_at', 'version'])
        .where('id', '=', documentId)
        .where('tenant_id', '=', principal.tenantId)
        .executeTakeFirst();
      if (!now || now.person_id !== null || now.deleted_at !== null) throw alreadyAssigned();
      throw stale(now.version);
    }
    const keyring = this.documents.keyring;
    const versions = await this.documents.rewrap(
      ctx,
      documentId,
      await keyring.departmentKey(tx, principal.tenantId, departmentId),
      await keyring.personKey(tx, principal.tenantId, departmentId, input.personId),
    );
    ctx.audit.personId = input.personId;
    ctx.audit.detail = { documentId, versions, sensitivity: input.sensitivity };
    return { id: documentId, personId: input.personId };
  }

  /** Deletes the scan the gate resolved (`mailroom.delete`) with a reason; kept until its retention ends. */
  async remove(ctx: GateContext, documentId: string, reason: string): Promise<void> {
    const d = await this.documents.row(ctx, documentId);
    if (d.person_id !== null) throw alreadyAssigned();
    await this.documents.markDeleted(ctx, d, reason);
  }
}
