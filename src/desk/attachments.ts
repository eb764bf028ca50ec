// An uploaded attachment or scan as it arrives (issue 17): streamed straight into a sealed temporary
// file under a fresh data key (nothing whole in memory, nothing unsealed on disk), counted against the
// size limit whatever the request claimed, and its type checked by content from its first bytes
// (content-check.ts). Only the gate's work commits it (renames it into place, with its row); any
// refusal or failure before leaves nothing behind.
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { decide, type Action, type Decision, type Principal } from '../access/policy.ts';
import { resolve, type ResourceRef } from '../access/resolve.ts';
import { inTenantTransaction, type Store } from '../db/connect.ts';
import { KarteiError, fieldRefused } from '../errors.ts';
import { checkContent, HEAD_BYTES } from './content-check.ts';
import type { DocumentFiles, VersionWrite, WrittenVersion } from './documents-files.ts';

/** An upload sealed under its temporary name: its facts, and the commit the gate's work makes. */
export interface ReceivedUpload {
  documentId: string;
  departmentId: string;
  version: WrittenVersion;
  /** Renames the sealed file into place (inside the gate's work, before its row is written). */
  commit(): Promise<void>;
  /** Removes whatever was written, committed or not (the transaction did not keep its row). */
  discard(): Promise<void>;
}

export const tooLarge = (maxBytes: number) =>
  new KarteiError('payload-too-large', `body: at most ${Math.round(maxBytes / (1024 * 1024))} MB per file`, {
    field: 'body',
    errors: [{ field: 'body', code: 'file-too-large', params: { maxMb: Math.round(maxBytes / (1024 * 1024)) } }],
  });

/**
 * Reads `body` into a sealed temporary file of a new document in `departmentId`; refuses past
 * `maxBytes` (413), an empty body, a type not accepted (415) or a name that does not match (422).
 */
export async function receiveUpload(
  files: DocumentFiles,
  body: AsyncIterable<Buffer>,
  o: { tenantId: string; departmentId: string; fileName: string; title?: string; maxBytes: number },
): Promise<ReceivedUpload> {
  const documentId = randomUUID();
  const v: VersionWrite = files.begin(o.tenantId, o.departmentId, documentId, 1);
  const stream = v.write.stream;
  // Reported by the next write or the commit; without a listener an error would end the process.
  stream.on('error', () => {});
  let size = 0;
  const head: Buffer[] = [];
  let headSize = 0;
  let checked: { mediaType: string; fileName: string } | undefined;
  let committed = false;
  try {
    for await (const chunk of body) {
      size += chunk.length;
      if (size > o.maxBytes) throw tooLarge(o.maxBytes);
      if (!checked) {
        head.push(chunk);
        headSize += chunk.length;
        if (headSize >= HEAD_BYTES) checked = await checkContent(Buffer.concat(head), o.fileName);
      }
      if (!stream.write(chunk)) await once(stream, 'drain');
    }
    if (size === 0) throw fieldRefused('validation-failed', 'body', 'required', 'the file is empty');
    checked ??= await checkContent(Buffer.concat(head), o.fileName);
  } catch (e) {
    await v.write.abort();
    throw e;
  }
  const { mediaType, fileName } = checked;
  return {
    documentId,
    departmentId: o.departmentId,
    version: {
      dataKey: v.dataKey,
      relPath: v.relPath,
      mediaType,
      size,
      title: o.title?.trim() || fileName,
      fileName,
      templateVersion: null,
    },
    async commit() {
      await v.write.commit();
      committed = true;
    },
    async discard() {
      if (committed) await files.remove(v.relPath);
      else await v.write.abort();
    },
  };
}

/**
 * Whether the caller may upload here, decided before a byte of the body is read (like STOW-RS): the
 * department the file belongs to when allowed. Nothing is accessed or answered from it; the gate
 * decides again, and audits, when the upload is stored — or audits the refusal when this says no.
 */
export async function decideBeforeUpload(
  store: Store,
  principal: Principal,
  action: Action,
  ref: ResourceRef,
): Promise<{ decision: Decision; departmentId: string | null }> {
  const target = await inTenantTransaction(store, principal.tenantId, (tx) =>
    resolve(tx, principal, ref, new Date().toISOString()),
  );
  if (!target) return { decision: 'hidden', departmentId: null };
  return { decision: decide(principal, action, target.resource), departmentId: target.departmentId };
}
