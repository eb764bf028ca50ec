// Storing one received instance: the one use case C-STORE and STOW-RS both
// call (as Orthanc's ServerContext::Store serves every protocol). The caller
// has decided the sender may store into the department and has the key the
// gate gave it; it then pushes the dataset as it arrives and finishes. The
// dataset streams to its sealed file (instance-writer.ts), is checked against
// what its sender announced, and is indexed and audited in one gate
// transaction; on any failure nothing is left on disk or in the index.
// Every failure is a `StoreFailure` carrying its DIMSE status (like dcm4che's
// DicomServiceException): C-STORE answers it as is, STOW-RS lists it as the
// instance's failure reason and sums the request up as 200, 202 or 409.
import type { GateContext } from '../access/gate.ts';
import { isStorageFull, KarteiError } from '../errors.ts';
import type { Keyring } from '../vault/keyring.ts';
import { Status } from './dicom/command.ts';
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME } from './dicom/implementation.ts';
import type { FileMeta } from './dicom/part10.ts';
import { indexInstance, type Indexed, type InstanceFacts } from './instance-index.ts';
import type { InstanceStore } from './instance-store.ts';
import { InstanceMismatch, InstanceWriter, pauseAt } from './instance-writer.ts';

/** An instance not stored, with the DIMSE status that says why and a short comment. */
export class StoreFailure extends Error {
  readonly status: number;
  constructor(status: number, comment: string) {
    super(comment);
    this.status = status;
  }
}

/** The one mapping of what went wrong while storing to a DIMSE status: reading and checking the dataset… */
export function storeFailure(e: unknown): StoreFailure {
  if (e instanceof StoreFailure) return e;
  // Issue 19: ops — a full disk (anywhere in the cause chain) is out of resources, not an unreadable dataset
  if (isStorageFull(e)) return new StoreFailure(Status.OutOfResources, 'storage full; not stored');
  if (e instanceof InstanceMismatch) return new StoreFailure(Status.DataSetDoesNotMatchSopClass, e.message);
  if (e instanceof KarteiError) return indexFailure(e);
  return new StoreFailure(Status.CannotUnderstand, `dataset cannot be read: ${(e as Error).message}`);
}

/** …and indexing it through the gate. */
function indexFailure(e: unknown): StoreFailure {
  if (e instanceof KarteiError && e.code === 'audit-unavailable')
    return new StoreFailure(Status.OutOfResources, 'audit log unavailable; not stored');
  return new StoreFailure(Status.ProcessingFailure, 'could not be stored');
}

/** Runs the indexing through the gate with the caller's action on the department (it audits it). */
type EnterGate = <T>(work: (ctx: GateContext) => Promise<T>) => Promise<T>;

/** What a sender announces of an instance before its dataset: the C-STORE command, or a STOW-RS part's Part 10 header. */
type AnnouncedInstance = Pick<
  FileMeta,
  'mediaStorageSopClassUid' | 'mediaStorageSopInstanceUid' | 'transferSyntaxUid' | 'sourceAeTitle'
>;

export interface StoreRequest {
  instances: InstanceStore;
  keyring: Keyring;
  tenantId: string;
  departmentId: string;
  /** The department's key. */
  key: Buffer;
  /** What the sender said the instance is; the stored Part 10 header names us as its implementation. */
  meta: AnnouncedInstance;
  /** The device or user it comes from. */
  receivedFrom: string;
  enter: EnterGate;
}

export interface Stored extends Indexed {
  facts: InstanceFacts;
}

/** One instance on its way in; throws StoreFailure from every step. */
export class IncomingInstance {
  private writer: InstanceWriter | undefined;

  private readonly r: StoreRequest;
  constructor(r: StoreRequest) {
    this.r = r;
    try {
      this.writer = new InstanceWriter({
        images: r.instances,
        tenantId: r.tenantId,
        departmentId: r.departmentId,
        key: r.key,
        meta: {
          ...r.meta,
          implementationClassUid: IMPLEMENTATION_CLASS_UID,
          implementationVersionName: IMPLEMENTATION_VERSION_NAME,
        },
        receivedFrom: r.receivedFrom,
      });
    } catch (e) {
      throw storeFailure(e);
    }
  }

  async push(chunk: Buffer): Promise<void> {
    if (!this.writer) throw new StoreFailure(Status.ProcessingFailure, 'store already ended');
    try {
      await this.writer.push(chunk);
    } catch (e) {
      await this.discard();
      throw storeFailure(e);
    }
  }

  /**
   * The whole dataset is in: checks it (and `accept`, the caller's own condition on its
   * attributes), commits its file, indexes and audits it. A duplicate keeps the first copy.
   */
  async finish(accept?: (facts: InstanceFacts) => void): Promise<Stored> {
    const writer = this.writer;
    if (!writer) throw new StoreFailure(Status.ProcessingFailure, 'store already ended');
    try {
      const facts = await writer.close();
      accept?.(facts);
      const indexed = await this.r
        .enter(async (ctx) => {
          const indexed = await indexInstance(ctx, this.r.keyring, facts);
          ctx.audit.resourceId = indexed.instanceId;
          ctx.audit.personId = indexed.personId ?? undefined;
          ctx.audit.detail = {
            studyId: indexed.studyId,
            bytes: facts.size,
            ...(indexed.duplicate ? { duplicate: true } : {}),
          };
          return indexed;
        })
        .catch((e: unknown) => {
          throw indexFailure(e);
        });
      await pauseAt('indexed');
      this.writer = undefined;
      if (indexed.duplicate) await writer.discard();
      return { ...indexed, facts };
    } catch (e) {
      await this.discard();
      throw storeFailure(e);
    }
  }

  /** Leaves nothing behind. */
  async discard(): Promise<void> {
    const writer = this.writer;
    this.writer = undefined;
    await writer?.discard();
  }
}
