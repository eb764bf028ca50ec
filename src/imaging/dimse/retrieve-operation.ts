// What C-GET and C-MOVE share: the identifier names studies, series or
// instances of the device's department; the retrieval is decided and audited
// (instance count, linked files) before the first byte leaves; then each
// instance is delivered — back on the association (C-GET) or to the move
// destination (C-MOVE) — streamed from its sealed file as it was stored,
// with a pending response after each and the counts in the final one.
import { Status, type Command } from '../dicom/command.ts';
import { parsePart10Header } from '../dicom/part10.ts';
import type { Dataset } from '../dicom/values.ts';
import { ReadAhead } from '../read-ahead.ts';
import type { InstanceMatch } from '../study-query.ts';
import { openInstance, type SealedInstance } from '../stored-instance.ts';
import { refusalStatus } from './c-find.ts';
import { markReleasable, releasePiece } from '../plaintext-pieces.ts';
import { ConnectionClosed } from './send-message.ts';
import { MAX_MATCHES } from '../search-archive.ts';
import { IdentifierMessage, queryOf } from './identifier-message.ts';
import type { Level } from '../match-attributes.ts';
import { gatedService } from './service-classes.ts';

export abstract class RetrieveOperation extends IdentifierMessage {
  /** Audit details of the delivery, e.g. its destination. */
  protected auditDetail(): Record<string, string> {
    return {};
  }

  /** Checks made before anything is looked up (C-MOVE: the destination); a status refuses the request. */
  protected async precheck(): Promise<number | undefined> {
    return undefined;
  }

  /** Gets ready to deliver these instances; a status ends the retrieval before anything is sent. */
  protected abstract prepare(instances: InstanceMatch[]): Promise<number | undefined>;
  protected abstract deliver(instance: InstanceMatch, dataset: AsyncIterable<Buffer>): Promise<number>;
  protected abstract done(): Promise<void>;

  protected async run(identifier: Dataset, level: Level) {
    const early = await this.precheck();
    if (early !== undefined) return this.answer(early, 'refused');
    let sealed: SealedInstance[];
    try {
      sealed = await gatedService(this.scope, this.service, (ctx) =>
        this.scope.deps.retrieveInstances(ctx, {
          departmentId: ctx.principal.device!.departmentId,
          query: queryOf(identifier),
          maxStudies: MAX_MATCHES,
          detail: { level, ...this.auditDetail() },
          auditFiles: true,
        }),
      );
    } catch (e) {
      return this.answer(refusalStatus(e), 'retrieval refused or failed');
    }
    // The requester left or cancelled while the retrieval was decided: nothing is delivered (no destination contacted).
    if (this.cancelled) return this.answer(Status.Cancel, '');
    const instances = sealed.map((s) => s.instance);
    const refused = await this.prepare(instances);
    if (refused !== undefined) return this.answer(refused, 'cannot deliver');
    const counts: Partial<Command> = {
      remainingSuboperations: instances.length,
      completedSuboperations: 0,
      failedSuboperations: 0,
      warningSuboperations: 0,
    };
    const open = (i: number) => {
      const instance = sealed[i];
      return instance && new ReadAhead(openInstance(instance));
    };
    // The next instance is read while this one is sent and its response awaited.
    let next = open(0);
    let gone = false;
    try {
      for (let i = 0; i < instances.length; i++) {
        if (this.cancelled) break;
        counts.remainingSuboperations!--;
        const file = next!;
        next = open(i + 1);
        next?.start();
        const status = await this.deliver(instances[i]!, datasetOf(file))
          .catch((e: unknown) => {
            gone = e instanceof ConnectionClosed;
            return Status.ProcessingFailure;
          })
          .finally(() => stopFile(file));
        if (status === Status.Success) counts.completedSuboperations!++;
        else if ((status & 0xf000) === 0xb000) counts.warningSuboperations!++;
        else counts.failedSuboperations!++;
        // The connection the instances go to is gone: none of the rest can be delivered, nor read for it.
        if (gone) {
          counts.failedSuboperations! += counts.remainingSuboperations!;
          counts.remainingSuboperations = 0;
          break;
        }
        if (counts.remainingSuboperations! > 0) this.answer(Status.Pending, '', undefined, counts);
      }
    } finally {
      if (next) await stopFile(next);
      await this.done();
    }
    if (this.cancelled) return this.answer(Status.Cancel, '', undefined, counts);
    const failed = counts.failedSuboperations! + counts.warningSuboperations! > 0;
    this.answer(
      failed ? Status.SubOperationsCompleteWithFailures : Status.Success,
      failed ? 'some instances were not taken' : '',
      undefined,
      { ...counts, remainingSuboperations: undefined },
    );
  }
}

/**
 * Ends a file's reading; what it read ahead and nobody took (decrypted for this delivery alone)
 * is wiped and freed, before and after the read in flight.
 */
async function stopFile(file: ReadAhead) {
  const wipe = () => {
    for (const piece of file.drop()) releasePiece(markReleasable(piece));
  };
  wipe();
  await file.stop();
  wipe();
}

/**
 * The dataset of a stored Part 10 file: everything after its meta information. The pieces after
 * the first are the plaintext decrypted for this delivery alone: the sender frees each once it
 * is written (plaintext-pieces.ts).
 */
async function* datasetOf(file: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let head: Buffer = Buffer.alloc(0);
  let started = false;
  for await (const chunk of file) {
    if (started) {
      yield markReleasable(chunk);
      continue;
    }
    head = head.length > 0 ? Buffer.concat([head, chunk]) : chunk;
    const parsed = parsePart10Header(head);
    if (!parsed) continue;
    started = true;
    if (head.length > parsed.datasetOffset) yield head.subarray(parsed.datasetOffset);
  }
}
