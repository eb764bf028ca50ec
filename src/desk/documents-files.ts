// Where a document version's bytes live and how they are sealed: a sealed file
// `documents/<tenant>/<department>/<id>-<version>` under the data directory, written
// under a temporary name and renamed on commit (vault/sealed-files.ts), with a random
// data key of its own. That data key is wrapped with the file's person key (the
// department key while a scan waits in the mail-room): assigning a scan or merging two
// files re-wraps the small key and never touches the bytes. Every binding names the
// document and version, so neither files nor keys can be swapped between documents.
import { randomBytes } from 'node:crypto';
import { bindingBytes, open, seal } from '../vault/aead.ts';
import type { SealedStore, SealedWrite } from '../vault/sealed-store.ts';

/** The sealed file of one version, relative to the documents' root. */
const versionPath = (tenantId: string, departmentId: string, documentId: string, version: number) =>
  `${tenantId}/${departmentId}/${documentId}-${version}`;

const bytesAad = (tenantId: string, documentId: string, version: number) =>
  bindingBytes({ tenantId, table: 'document_versions', rowId: `${documentId}:${version}`, field: 'bytes' });

const keyAad = (tenantId: string, documentId: string, version: number) =>
  bindingBytes({ tenantId, table: 'document_versions', rowId: `${documentId}:${version}`, field: 'data_key' });

/** Where a version's name and title are sealed (with its data key). */
export const nameBinding = (tenantId: string, documentId: string, version: number) => ({
  tenantId,
  table: 'document_versions',
  rowId: `${documentId}:${version}`,
  field: 'name',
});

/** Where a deletion's reason is sealed (with the current version's data key). */
export const deleteReasonBinding = (tenantId: string, documentId: string) => ({
  tenantId,
  table: 'documents',
  rowId: documentId,
  field: 'delete_reason',
});

/** A version's data key, wrapped with its owner's key (person or department). */
export const wrapDataKey = (owner: Buffer, tenantId: string, documentId: string, version: number, key: Buffer) =>
  seal(owner, key, keyAad(tenantId, documentId, version));

export const unwrapDataKey = (owner: Buffer, tenantId: string, documentId: string, version: number, wrapped: Buffer) =>
  open(owner, wrapped, keyAad(tenantId, documentId, version));

/** A version whose sealed file is written (committed or not); its row is what `storeVersion` adds. */
export interface WrittenVersion {
  dataKey: Buffer;
  relPath: string;
  mediaType: string;
  size: number;
  title: string;
  fileName: string;
  templateVersion: number | null;
}

/** One version's bytes being written: sealed as they come, nothing under the final name until `commit`. */
export interface VersionWrite {
  /** The version's own data key (random); wrap it before it is stored. */
  dataKey: Buffer;
  relPath: string;
  write: SealedWrite;
}

export class DocumentFiles {
  private readonly files: SealedStore;
  constructor(files: SealedStore) {
    this.files = files;
  }

  /** Starts a version's sealed file under a fresh random data key. */
  begin(tenantId: string, departmentId: string, documentId: string, version: number): VersionWrite {
    const dataKey = randomBytes(32);
    const relPath = versionPath(tenantId, departmentId, documentId, version);
    return { dataKey, relPath, write: this.files.create(relPath, dataKey, bytesAad(tenantId, documentId, version)) };
  }

  /** Writes bytes held in memory (a generated PDF) and commits the file; answers its data key and path. */
  async writeWhole(
    tenantId: string,
    departmentId: string,
    documentId: string,
    version: number,
    bytes: Buffer,
  ): Promise<{ dataKey: Buffer; relPath: string }> {
    const v = this.begin(tenantId, departmentId, documentId, version);
    try {
      await new Promise<void>((resolve, reject) => {
        v.write.stream.once('error', reject);
        v.write.stream.end(bytes, () => resolve());
      });
      await v.write.commit();
    } catch (e) {
      await v.write.abort();
      throw e;
    }
    return { dataKey: v.dataKey, relPath: v.relPath };
  }

  /** The plaintext of a version, chunk by chunk (authenticated per chunk). */
  read(tenantId: string, departmentId: string, documentId: string, version: number, dataKey: Buffer) {
    return this.files.openRead(
      versionPath(tenantId, departmentId, documentId, version),
      dataKey,
      bytesAad(tenantId, documentId, version),
    );
  }

  /** Issue 19: storage-db — whether other instances write to the same store (recovery then leaves recent entries). */
  get shared(): boolean {
    return this.files.shared;
  }

  /** Every file under the documents' root, committed or temporary: only for recovery at start. */
  walk() {
    return this.files.walk();
  }

  /** Removes a temporary file a cut-off write left behind (as `walk` named it). */
  removeLeftover(relPath: string): Promise<void> {
    return this.files.removeLeftover(relPath);
  }

  /** Removes a committed version's file (its row was never stored, or is gone for good). */
  async remove(relPath: string): Promise<void> {
    await this.files.remove(relPath).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
  }
}
