// Where a stored instance lives and how it is sealed: the one place that
// knows an instance's path (images/<tenant>/<department>/<two>/<id>.dcm),
// the binding its encryption is tied to (tenant, `instances`, id, `file`),
// and that writes, reads and removes its file. A per-person key, a quota or a
// transcoding step changes this file; the callers hand in the key the gate
// gave them and an instance's id and path as the index holds them.
import { bindingBytes } from '../vault/aead.ts';
import type { SealedStore, SealedWrite } from '../vault/sealed-store.ts';

/** What the index says of a stored instance's file. */
export interface StoredRef {
  id: string;
  file: string;
}

export const instanceFileBinding = (tenantId: string, instanceId: string) => ({
  tenantId,
  table: 'instances',
  rowId: instanceId,
  field: 'file',
});
const aad = (tenantId: string, instanceId: string) => bindingBytes(instanceFileBinding(tenantId, instanceId));

/** The path of a new instance's file, relative to the image root. */
export const instancePath = (tenantId: string, departmentId: string, id: string) =>
  `${tenantId}/${departmentId}/${id.slice(0, 2)}/${id}.dcm`;

/**
 * The parts of a path `instancePath` made — or a re-encryption made from it (`<id>.k<version>.dcm`,
 * src/ops/department-reencrypt.ts); undefined for anything else.
 */
export function parseInstancePath(relPath: string): { tenantId: string; departmentId: string; id: string } | undefined {
  const m = /^([^/]+)\/([^/]+)\/([^/]{2})\/([^/.]+)(?:\.k\d+)?\.dcm$/.exec(relPath);
  if (!m || m[4]!.slice(0, 2) !== m[3]) return undefined;
  return { tenantId: m[1]!, departmentId: m[2]!, id: m[4]! };
}

export class InstanceStore {
  readonly files: SealedStore;
  constructor(files: SealedStore) {
    this.files = files;
  }

  /** A new instance's file: written under a temporary name until `commit` (`opts`: SealedStore.create's). */
  create(
    tenantId: string,
    departmentId: string,
    id: string,
    key: Buffer,
    opts: { renamed?: () => Promise<void> | undefined } = {},
  ): { file: string; write: SealedWrite } {
    const file = instancePath(tenantId, departmentId, id);
    return { file, write: this.files.create(file, key, aad(tenantId, id), opts) };
  }

  /** The whole stored Part 10 file, decrypted as it streams. */
  open(tenantId: string, ref: StoredRef, key: Buffer): AsyncGenerator<Buffer> {
    return this.files.openRead(ref.file, key, aad(tenantId, ref.id));
  }

  readRange(tenantId: string, ref: StoredRef, key: Buffer, start: number, length: number): Promise<Buffer> {
    return this.files.readRange(ref.file, key, aad(tenantId, ref.id), start, length);
  }

  /** From the file's header, without the key. */
  plainSize(ref: StoredRef): Promise<number> {
    return this.files.plainSize(ref.file);
  }

  remove(ref: StoredRef): Promise<void> {
    return this.files.remove(ref.file);
  }
}
