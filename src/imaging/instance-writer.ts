// Writing one received instance, for the store use case (store-instance.ts):
// the dataset streams to its sealed file (instance-store.ts) behind our
// Part 10 header, byte for byte as received (deflated ones too), while a
// scanner picks out what the index needs (from the inflated bytes, for a
// deflated dataset). `close` checks the dataset against what its sender said
// it is and commits the file; the use case then indexes it through the gate,
// and `discard`s it on any failure, so nothing is left on disk that the index
// does not know (and what a crash leaves in between, store-recovery.ts
// removes at the next start).
import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import zlib from 'node:zlib';
import { finished } from 'node:stream/promises';
import type { SealedWrite } from '../vault/sealed-store.ts';
import { DatasetScanner } from './dicom/dataset-scanner.ts';
import { part10Header, type FileMeta } from './dicom/part10.ts';
import { INDEXED_TAGS, Tag } from './dicom/tags.ts';
import { datasetLayout, isValidUid, TransferSyntax } from './dicom/uids.ts';
import { DatasetError } from './dicom/element-header.ts';
import { textValue, type Dataset } from './dicom/values.ts';
import type { InstanceFacts } from './instance-index.ts';
import type { InstanceStore } from './instance-store.ts';

/** The dataset is not the instance its sender announced, or lacks what the index needs. */
export class InstanceMismatch extends Error {}

export interface InstanceTarget {
  images: InstanceStore;
  tenantId: string;
  departmentId: string;
  /** The department's key. */
  key: Buffer;
  /** The Part 10 header to store before the dataset: what the sender said the instance is. */
  meta: FileMeta;
  /** The device or user it comes from. */
  receivedFrom: string;
}

/** The most a deflated dataset may inflate to: a dataset's lengths are 32-bit. */
const MAX_INFLATED = 2 ** 32;

export class InstanceWriter {
  readonly id = randomUUID();
  readonly file: string;
  private readonly scanner: DatasetScanner;
  /** Deflated datasets are stored as received and scanned as they inflate. */
  private readonly inflater: zlib.InflateRaw | undefined;
  private inflateError: Error | undefined;
  private write: SealedWrite | undefined;
  private committed = false;

  /** Throws DatasetError for a transfer syntax the scanner cannot read. */
  private readonly t: InstanceTarget;
  constructor(t: InstanceTarget) {
    this.t = t;
    const deflated = datasetLayout(t.meta.transferSyntaxUid) === 'deflated';
    this.scanner = new DatasetScanner(
      deflated ? TransferSyntax.ExplicitVrLittleEndian : t.meta.transferSyntaxUid,
      INDEXED_TAGS,
    );
    if (deflated) this.inflater = this.inflate();
    ({ file: this.file, write: this.write } = t.images.create(t.tenantId, t.departmentId, this.id, t.key, {
      renamed: () => pauseAt('renamed'),
    }));
    this.write.stream.write(part10Header(t.meta));
  }

  private inflate(): zlib.InflateRaw {
    const inflater = zlib.createInflateRaw();
    let inflated = 0;
    inflater.on('data', (d: Buffer) => {
      if (this.inflateError) return;
      inflated += d.length;
      try {
        if (inflated > MAX_INFLATED) throw new DatasetError('malformed', 'deflated dataset inflates beyond 4 GiB');
        this.scanner.push(d);
      } catch (e) {
        this.inflateError = e as Error;
        inflater.destroy();
      }
    });
    inflater.on(
      'error',
      (e) => (this.inflateError ??= new DatasetError('malformed', `deflated dataset cannot be inflated: ${e.message}`)),
    );
    return inflater;
  }

  /** Throws DatasetError when the bytes are not a readable dataset. */
  async push(chunk: Buffer) {
    if (this.inflater) {
      if (this.inflateError) throw this.inflateError;
      if (!this.inflater.write(chunk)) await drainedOrClosed(this.inflater);
      if (this.inflateError) throw this.inflateError;
    } else this.scanner.push(chunk);
    if (!this.write!.stream.write(chunk)) await once(this.write!.stream, 'drain');
  }

  /** Checks the whole dataset and commits the file; throws DatasetError or InstanceMismatch. */
  async close(): Promise<InstanceFacts> {
    if (this.inflater) {
      this.inflater.end();
      await finished(this.inflater).catch(() => undefined);
      if (this.inflateError) throw this.inflateError;
    }
    const scanned = this.scanner.end();
    const why = mismatch(scanned.elements, this.t.meta);
    if (why) throw new InstanceMismatch(why);
    const { size } = await this.write!.commit();
    this.committed = true;
    await pauseAt('committed');
    const header = size - scanned.length;
    return {
      id: this.id,
      departmentId: this.t.departmentId,
      receivedFrom: this.t.receivedFrom,
      transferSyntaxUid: this.t.meta.transferSyntaxUid,
      elements: scanned.elements,
      // In a deflated file the pixel data has no byte position of its own.
      pixelData: this.inflater
        ? undefined
        : scanned.pixelData && { ...scanned.pixelData, offset: scanned.pixelData.offset + header },
      file: this.file,
      size,
    };
  }

  /** Leaves nothing behind: the unfinished file, or the committed one the index did not take. */
  async discard() {
    this.inflater?.destroy();
    const write = this.write;
    this.write = undefined;
    if (this.committed) await this.t.images.remove(this).catch(() => undefined);
    else await write?.abort().catch(() => undefined);
  }
}

/**
 * At the stream's 'drain', or when it closes: an inflater destroyed at the first unreadable byte
 * never drains, and a store waiting for that alone would wait for good.
 */
function drainedOrClosed(s: zlib.InflateRaw): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      s.off('drain', done);
      s.off('close', done);
      resolve();
    };
    s.on('drain', done);
    s.on('close', done);
  });
}

/**
 * Tests only: holds a store at one step so that a test can kill the server
 * there (test/cli/store-crash*.int.test.ts). The value is `<ms>` (after the
 * file's commit, before its index transaction) or `<step>:<ms>`, the step one
 * of `renamed` (the file under its final name, before its syncs), `committed`
 * (the same as `<ms>`) and `indexed` (the index transaction durable, before the
 * answer). Each pause says where it holds on stderr. Honoured only with
 * NODE_ENV=test; `kartei doctor` reports the variable whenever it is set.
 */
export const TEST_PAUSE_VARIABLE = 'KARTEI_TEST_PAUSE_AFTER_FILE_COMMIT_MS';
export type StoreStep = 'renamed' | 'committed' | 'indexed';
export function pauseAt(step: StoreStep): Promise<void> | undefined {
  const value = process.env.NODE_ENV === 'test' ? process.env[TEST_PAUSE_VARIABLE] : undefined;
  if (!value) return undefined;
  const [at, ms] = value.includes(':') ? value.split(':') : ['committed', value];
  if (at !== step || !(Number(ms) > 0)) return undefined;
  process.stderr.write(`kartei test pause: ${step}\n`);
  return new Promise((r) => setTimeout(r, Number(ms)));
}

/** Why the dataset does not fit what its sender announced, if it does not. */
function mismatch(el: Dataset, meta: FileMeta): string | undefined {
  if (textValue(el, Tag.SopInstanceUid) !== meta.mediaStorageSopInstanceUid)
    return 'SOP Instance UID differs from the announced one';
  if (textValue(el, Tag.SopClassUid) !== meta.mediaStorageSopClassUid)
    return 'SOP Class UID differs from the announced one';
  for (const [tag, name] of [
    [Tag.StudyInstanceUid, 'Study'],
    [Tag.SeriesInstanceUid, 'Series'],
  ] as const) {
    if (!isValidUid(textValue(el, tag) ?? '')) return `missing or invalid ${name} Instance UID`;
  }
  return undefined;
}
