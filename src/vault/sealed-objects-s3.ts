// Sealed files as objects in an S3-compatible store (KARTEI_STORAGE=s3),
// shared by every instance of a deployment. An object holds exactly the bytes
// the files store would write (stream-format.ts), sealed in this process before
// they leave it: the bucket without the key directory reveals nothing.
//
// S3 has no rename, so nothing is written under a final name before `commit`:
// - an object whose sealed bytes fit in one part (PART_SIZE, the common case)
//   is held until `commit` and put in one request, all or nothing: a crash
//   leaves nothing;
// - a larger one goes up as a multipart upload to its final name, part by part
//   while it is written (one part in flight, one filling: bounded memory), and
//   appears only when `commit` completes the upload. Beside it a marker object
//   `<name>.tmp-<random>` holding the upload's id names the unfinished upload,
//   which ListObjectsV2 does not show: a crash leaves the marker and the upload's
//   parts, `walk` gives the marker as a temporary entry (with its time, which
//   the writer renews every few minutes while the upload is open, so recovery at
//   another instance's start leaves a live one alone) and `removeLeftover`
//   aborts the upload and removes the marker. Only a crash in
//   the moment between starting an upload and putting its marker leaves an
//   upload nothing names, with no part in it (a bucket lifecycle rule
//   AbortIncompleteMultipartUpload removes such).
// `commit` resolves once the store has answered the put or the completion: the
// object is durable then.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { Readable, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { createRequire } from 'node:module';
import type * as S3 from '@aws-sdk/client-s3';
import { ConfigError, type S3Config } from '../config/config.ts';
import { DecryptionError } from './aead.ts';
import type { SealedStore, SealedWrite, StoredEntry } from './sealed-store.ts';
import { checkKey, fileKey, HEADER_LEN, TAG_LEN } from './stream-format.ts';
import { copyRange, openStoredChunk, rangeChunks, type SealedLayout, sealedLayout } from './stream-open.ts';
import { readPlainPieces } from './stream-open-pieces.ts';
import { ChunkSealer } from './stream-seal.ts';
import { freeBuffer } from './free-buffer.ts';
import { refusal } from '../config/refusal.ts'; // Issue 19: s23-german-cli

type S3Client = S3.S3Client;
/**
 * The SDK, loaded when the first S3 store is made: ~30 MB of resident memory that a server keeping
 * its sealed files in the database or the data directory never pays (issue 18: idle memory).
 */
let sdk: typeof S3 | undefined;
const s3sdk = (): typeof S3 => (sdk ??= createRequire(import.meta.url)('@aws-sdk/client-s3') as typeof S3);

const SEGMENT = /^[A-Za-z0-9_.-]+$/;
const TMP_MARK = '.tmp-';
/**
 * The size of an upload's parts (S3 wants at least 5 MiB for all but the last; 10,000 parts make
 * objects of up to 60 GB). A write holds two at most: one going up, one filling.
 */
export const PART_SIZE = 6 * 1024 * 1024;
const MAX_PARTS = 10_000;
/**
 * How often an open upload's marker is put again: its time is what recovery at another
 * instance's start goes by (SHARED_STORE_GRACE_MS), and an upload may take longer than that.
 */
const MARKER_REFRESH_MS = 5 * 60 * 1000;

export class SealedObjectsS3 implements SealedStore {
  readonly kind = 's3' as const;
  /** Every instance of the deployment writes to the same bucket. */
  readonly shared = true;
  private readonly s3: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;

  private readonly markerRefreshMs: number;

  /** `prefix`: '' or segments ending in '/', put before every object's name; `markerRefreshMs` for tests. */
  constructor(s3: S3Client, bucket: string, prefix: string, opts: { markerRefreshMs?: number } = {}) {
    this.s3 = s3;
    this.bucket = bucket;
    this.prefix = prefix;
    this.markerRefreshMs = opts.markerRefreshMs ?? MARKER_REFRESH_MS;
  }

  create(
    relPath: string,
    key: Buffer,
    aad: Buffer,
    opts: { chunkSize?: number; renamed?: () => Promise<void> | undefined } = {},
  ): SealedWrite {
    const objectKey = this.resolve(relPath);
    const writer = new UploadingWriter(
      this.s3,
      this.bucket,
      objectKey,
      new ChunkSealer(key, aad, opts.chunkSize),
      opts.renamed,
      this.markerRefreshMs,
    );
    return { stream: writer, commit: () => writer.commit(), abort: () => writer.abort() };
  }

  /** One GET, read as it arrives; the response is closed when the reading ends or the caller stops. */
  openRead(relPath: string, key: Buffer, aad: Buffer): AsyncGenerator<Buffer> {
    const objectKey = this.resolve(relPath);
    const get = () => this.get(relPath, objectKey);
    return (async function* () {
      const res = await get();
      const body = (res.Body ?? Readable.from([])) as Readable;
      try {
        yield* readPlainPieces(body, res.ContentLength ?? 0, key, aad);
      } finally {
        body.destroy();
      }
    })();
  }

  /**
   * Two ranged GETs: the header (and the size), then just the chunks that cover the range, of the
   * same object (If-Match its ETag; once more from the start if it was replaced in between).
   */
  async readRange(relPath: string, key: Buffer, aad: Buffer, start: number, length: number): Promise<Buffer> {
    const objectKey = this.resolve(relPath);
    checkKey(key);
    try {
      return await this.range(relPath, objectKey, key, aad, start, length);
    } catch (e) {
      if ((e as { name?: string }).name !== 'PreconditionFailed') throw e;
      return this.range(relPath, objectKey, key, aad, start, length);
    }
  }

  private async range(relPath: string, objectKey: string, key: Buffer, aad: Buffer, start: number, length: number) {
    const { layout, etag } = await this.layout(relPath, objectKey);
    const { first, last } = rangeChunks(layout, start, length);
    if (length === 0) return Buffer.allocUnsafe(0);
    const seg = layout.chunkSize + TAG_LEN;
    const from = HEADER_LEN + first * seg;
    const to = Math.min(HEADER_LEN + (last + 1) * seg, layout.sealedSize);
    const res = await this.get(relPath, objectKey, `bytes=${from}-${to - 1}`, etag);
    if (!res.ContentRange?.startsWith(`bytes ${from}-`)) {
      (res.Body as Readable | undefined)?.destroy();
      throw new Error(`the object store did not answer the range ${from}-${to - 1} of ${JSON.stringify(relPath)}`);
    }
    const sealed = await bodyBytes(res.Body, to - from);
    if (sealed.length !== to - from) throw new DecryptionError('sealed stream is truncated');
    const file = fileKey(key, aad, layout.header);
    const plains = [];
    for (let i = first; i <= last; i++)
      plains.push(openStoredChunk(file, layout, i, sealed.subarray((i - first) * seg, (i - first + 1) * seg)));
    return copyRange(plains, first, layout.chunkSize, start, length);
  }

  async plainSize(relPath: string): Promise<number> {
    return (await this.layout(relPath, this.resolve(relPath))).layout.plainSize;
  }

  /** S3 deletes an absent object without a word: it is looked up first, to answer ENOENT as files do. */
  async remove(relPath: string): Promise<void> {
    const objectKey = this.resolve(relPath);
    try {
      await this.s3.send(new (s3sdk().HeadObjectCommand)({ Bucket: this.bucket, Key: objectKey }));
    } catch (e) {
      throw notFound(e, relPath);
    }
    await this.s3.send(new (s3sdk().DeleteObjectCommand)({ Bucket: this.bucket, Key: objectKey }));
  }

  /** Every object under the prefix with a name this store could have written; markers of unfinished uploads as temporary. */
  async *walk(): AsyncGenerator<StoredEntry> {
    let token: string | undefined;
    do {
      const page = await this.s3.send(
        new (s3sdk().ListObjectsV2Command)({ Bucket: this.bucket, Prefix: this.prefix, ContinuationToken: token }),
      );
      for (const o of page.Contents ?? []) {
        const relPath = o.Key?.slice(this.prefix.length) ?? '';
        const name = relPath.split('/').at(-1) ?? '';
        const temporary = name.includes(TMP_MARK);
        if (!validPath(temporary ? finalOf(relPath) : relPath)) continue;
        yield { relPath, temporary, ...(o.LastModified ? { modifiedAt: o.LastModified } : {}) };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  /** Aborts the unfinished upload a marker names (if it is still open), then removes the marker. */
  async removeLeftover(relPath: string): Promise<void> {
    if (!(relPath.split('/').at(-1) ?? '').includes(TMP_MARK))
      throw new Error(`not a temporary file ${JSON.stringify(relPath)}`);
    const objectKey = this.resolve(finalOf(relPath));
    const marker = `${this.prefix}${relPath}`;
    let uploadId: string;
    try {
      const res = await this.s3.send(new (s3sdk().GetObjectCommand)({ Bucket: this.bucket, Key: marker }));
      uploadId = (await bodyBytes(res.Body, 1024)).toString('utf8');
    } catch (e) {
      throw notFound(e, relPath);
    }
    if (uploadId) await abortUpload(this.s3, this.bucket, objectKey, uploadId);
    await this.s3.send(new (s3sdk().DeleteObjectCommand)({ Bucket: this.bucket, Key: marker }));
  }

  /** The header and the object's size from one ranged GET, and the ETag that names this version of it. */
  private async layout(relPath: string, objectKey: string): Promise<{ layout: SealedLayout; etag?: string }> {
    let res: Awaited<ReturnType<SealedObjectsS3['get']>>;
    try {
      res = await this.get(relPath, objectKey, `bytes=0-${HEADER_LEN - 1}`);
    } catch (e) {
      // An empty object has no byte to give.
      if ((e as { name?: string }).name === 'InvalidRange') throw new DecryptionError('sealed stream is truncated');
      throw e;
    }
    // The whole object's size: after the slash of Content-Range, or (a server that sent it all) its length.
    const size = Number(/\/(\d+)$/.exec(res.ContentRange ?? '')?.[1] ?? res.ContentLength);
    const header = await bodyBytes(res.Body, HEADER_LEN);
    if (header.length < HEADER_LEN) throw new DecryptionError('sealed stream is truncated');
    return { layout: sealedLayout(header, size), ...(res.ETag ? { etag: res.ETag } : {}) };
  }

  private async get(relPath: string, objectKey: string, range?: string, etag?: string) {
    try {
      return await this.s3.send(
        new (s3sdk().GetObjectCommand)({
          Bucket: this.bucket,
          Key: objectKey,
          ...(range ? { Range: range } : {}),
          ...(etag ? { IfMatch: etag } : {}),
        }),
      );
    } catch (e) {
      throw notFound(e, relPath);
    }
  }

  /** Plain relative names only, none that could be taken for a temporary one; the object's key. */
  private resolve(relPath: string): string {
    if (!validPath(relPath)) throw new Error(`invalid sealed file path ${JSON.stringify(relPath)}`);
    return `${this.prefix}${relPath}`;
  }
}

function validPath(relPath: string): boolean {
  return relPath.split('/').every((p) => SEGMENT.test(p) && p !== '.' && p !== '..' && !p.includes(TMP_MARK));
}

/** The final name a marker stands beside. */
function finalOf(relPath: string): string {
  const cut = relPath.lastIndexOf(TMP_MARK);
  const marker = relPath.slice(cut + TMP_MARK.length);
  // The marker's own part is random hex; a name that passes for a marker otherwise is no marker.
  return /^[0-9a-f]+$/.test(marker) && !relPath.slice(cut).includes('/') ? relPath.slice(0, cut) : '';
}

/** A missing object as files report it (`code: 'ENOENT'`); any other failure as it is. */
function notFound(e: unknown, relPath: string): unknown {
  const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
  if (err.name !== 'NoSuchKey' && err.name !== 'NotFound' && err.$metadata?.httpStatusCode !== 404) return e;
  return Object.assign(new Error(`no sealed object ${JSON.stringify(relPath)}`), { code: 'ENOENT', cause: e });
}

/**
 * At most `max` bytes of a response's body. A body that goes on past them (a server that answered
 * a range with the whole object) is cut there, and its connection with it; one that ends within
 * them is read to its end, so its connection serves the next request.
 */
async function bodyBytes(body: unknown, max: number): Promise<Buffer> {
  const got: Buffer[] = [];
  let n = 0;
  for await (const piece of (body as AsyncIterable<Buffer> | undefined) ?? []) {
    got.push(piece);
    n += piece.length;
    if (n > max) break;
  }
  return Buffer.concat(got, Math.min(n, max));
}

/**
 * Aborts an unfinished upload: its parts are gone. One completed or aborted already is no error;
 * nor is a server that cannot abort uploads (s3rver answers 405): their parts, sealed bytes that
 * never become an object, are left to its own expiry (AbortIncompleteMultipartUpload).
 */
async function abortUpload(s3: S3Client, bucket: string, key: string, uploadId: string) {
  try {
    await s3.send(new (s3sdk().AbortMultipartUploadCommand)({ Bucket: bucket, Key: key, UploadId: uploadId }));
  } catch (e) {
    const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
    const status = err.$metadata?.httpStatusCode;
    if (err.name !== 'NoSuchUpload' && status !== 404 && status !== 405 && status !== 501) throw e;
  }
}

/**
 * Seals what is written and sends it up: held until `commit` while it fits in
 * one part, a multipart upload (with its marker) once it does not.
 */
class UploadingWriter extends Writable {
  private size = 0;
  /** Sealed bytes not yet sent, and how many. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private uploadId: string | undefined;
  private marker: string | undefined;
  private readonly parts: { PartNumber: number; ETag: string }[] = [];
  /** The part in flight (at most one). */
  private uploading = Promise.resolve();
  private committing: Promise<{ size: number }> | undefined;
  private cleaning: Promise<void> | undefined;
  private aborted = false;
  /** Puts the marker again now and then while the upload is open, and the put in flight. */
  private refresher: NodeJS.Timeout | undefined;
  private refreshing = Promise.resolve();

  private readonly s3: S3Client;
  private readonly bucket: string;
  private readonly key: string;
  private readonly sealer: ChunkSealer;
  private readonly pause: (() => Promise<void> | undefined) | undefined;
  private readonly markerRefreshMs: number;
  constructor(
    s3: S3Client,
    bucket: string,
    key: string,
    sealer: ChunkSealer,
    pause: (() => Promise<void> | undefined) | undefined,
    markerRefreshMs: number,
  ) {
    super();
    this.markerRefreshMs = markerRefreshMs;
    this.s3 = s3;
    this.bucket = bucket;
    this.key = key;
    this.sealer = sealer;
    this.pause = pause;
  }

  /** Seals into the part being filled; a full part goes up while the next one fills. */
  override _write(data: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void) {
    try {
      this.size += data.length;
      this.hold(this.sealer.update(data));
    } catch (e) {
      return done(e as Error);
    }
    if (this.pendingBytes < PART_SIZE) return done();
    this.uploading.then(() => {
      this.uploading = this.sendPart();
      // Handled here, reported by the next write or by _final.
      this.uploading.catch(() => {});
      done();
    }, done);
  }

  /** The last bytes: the upload's last part, or (no upload) held for `commit`'s single put. */
  override _final(done: (err?: Error | null) => void) {
    this.uploading
      .then(() => {
        this.hold(this.sealer.final());
        if (this.uploadId) return this.sendPart();
      })
      .then(() => done(), done);
  }

  /** A write that did not finish takes its upload and marker with it. */
  override _destroy(err: Error | null, done: (err?: Error | null) => void) {
    if (this.writableFinished && !err) return done(null);
    this.cleanUp().then(
      () => done(err),
      (e: Error) => done(err ?? e),
    );
  }

  commit(): Promise<{ size: number }> {
    this.committing ??= this.complete();
    return this.committing;
  }

  async abort(): Promise<void> {
    if (this.committing) return void (await this.committing.catch(() => {}));
    this.aborted = true;
    this.destroy();
    await finished(this).catch(() => {});
    await this.cleanUp();
  }

  /** Ends the stream, then puts the object or completes its upload: it appears under its name only now. */
  private async complete() {
    try {
      if (this.aborted) throw new Error('sealed write was aborted');
      if (!this.writableEnded && !this.destroyed) this.end();
      await finished(this);
      if (this.uploadId) {
        await this.s3.send(
          new (s3sdk().CompleteMultipartUploadCommand)({
            Bucket: this.bucket,
            Key: this.key,
            UploadId: this.uploadId,
            MultipartUpload: { Parts: this.parts },
          }),
        );
      } else {
        const body = Buffer.concat(this.pending, this.pendingBytes);
        this.release();
        await this.s3.send(new (s3sdk().PutObjectCommand)({ Bucket: this.bucket, Key: this.key, Body: body }));
        releaseBody(body);
      }
    } catch (e) {
      await this.cleanUp().catch(() => {});
      throw e;
    }
    await this.pause?.();
    await this.stopRefreshing();
    // The object is in place: a marker that stays (the store did not answer) is a leftover like any other.
    const marker = this.marker;
    this.marker = undefined;
    if (marker)
      await this.s3.send(new (s3sdk().DeleteObjectCommand)({ Bucket: this.bucket, Key: marker })).catch(() => {});
    return { size: this.size };
  }

  private hold(out: Buffer[]) {
    for (const b of out) {
      this.pending.push(b);
      this.pendingBytes += b.length;
    }
  }

  /** The sealed chunks held are copied into a part or a body: the sealer frees its buffers now. */
  private release() {
    this.sealer.written(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
  }

  /** Sends what is held as the next part, starting the upload (and putting its marker) before the first. */
  private async sendPart() {
    const body = Buffer.concat(this.pending, this.pendingBytes);
    this.release();
    if (!this.uploadId) {
      const started = await this.s3.send(
        new (s3sdk().CreateMultipartUploadCommand)({ Bucket: this.bucket, Key: this.key }),
      );
      if (!started.UploadId) throw new Error('the object store started an upload without an id');
      this.uploadId = started.UploadId;
      const marker = `${this.key}${TMP_MARK}${randomBytes(8).toString('hex')}`;
      this.marker = marker;
      const put = () =>
        this.s3.send(
          new (s3sdk().PutObjectCommand)({ Bucket: this.bucket, Key: marker, Body: Buffer.from(this.uploadId!) }),
        );
      await put();
      this.refresher = setInterval(() => {
        // A failed refresh is only a marker older than it might be.
        this.refreshing = this.refreshing.then(put).then(
          () => {},
          () => {},
        );
      }, this.markerRefreshMs).unref();
    }
    const PartNumber = this.parts.length + 1;
    if (PartNumber > MAX_PARTS) throw new Error(`a sealed object has more than ${MAX_PARTS} parts`);
    const sent = await this.s3.send(
      new (s3sdk().UploadPartCommand)({
        Bucket: this.bucket,
        Key: this.key,
        UploadId: this.uploadId,
        PartNumber,
        Body: body,
      }),
    );
    releaseBody(body);
    if (!sent.ETag) throw new Error('the object store took a part without an ETag');
    this.parts.push({ PartNumber, ETag: sent.ETag });
  }

  /** No more puts of the marker: it may be removed now. */
  private async stopRefreshing() {
    clearInterval(this.refresher);
    this.refresher = undefined;
    await this.refreshing;
  }

  /** Once, after the part in flight: the upload aborted, the marker removed, nothing held. */
  private cleanUp(): Promise<void> {
    this.cleaning ??= (async () => {
      await this.uploading.catch(() => {});
      this.pending = [];
      this.pendingBytes = 0;
      await this.stopRefreshing();
      if (this.uploadId) await abortUpload(this.s3, this.bucket, this.key, this.uploadId);
      if (this.marker) await this.s3.send(new (s3sdk().DeleteObjectCommand)({ Bucket: this.bucket, Key: this.marker }));
      this.marker = undefined;
    })();
    return this.cleaning;
  }
}

/**
 * A body made here (Buffer.concat) that the store took gives its memory back now (free-buffer.ts):
 * the HTTP client keeps the last body it sent reachable until its socket's next request, which would
 * hold a third part. Only after success: the store answered for all of it, so every byte was written
 * out (after a failure the socket might still be writing, so the collector frees it).
 */
const releaseBody = freeBuffer;

/** The access key id and secret from their file: a regular file of mode 600 (or stricter), else refused. */
export function readS3Credentials(file: string): {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
} {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // s24: echo — no such file: the value may be the key itself pasted in place of a file's name (one
    // line, so not refused as a file's content at start); it is not repeated. A file that is there but
    // cannot be read is named: its name is a path.
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ENAMETOOLONG')
      throw new ConfigError(
        'KARTEI_S3_CREDENTIALS_FILE names no existing file (the value is not repeated here: it may be the key itself); write the lines aws_access_key_id = … and aws_secret_access_key = … into a file of mode 600 and set KARTEI_S3_CREDENTIALS_FILE to its path',
        refusal('s3-credentials-missing'),
      );
    if (code === 'ELOOP')
      throw new ConfigError(
        `Refusing ${file}: the S3 credentials file is a symbolic link`,
        refusal('s3-credentials-link', { file }),
      );
    throw new ConfigError(
      `KARTEI_S3_CREDENTIALS_FILE ${file} cannot be read (${code})`,
      refusal('s3-credentials-unreadable', { file, code: String(code) }),
    );
  }
  let text: string;
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile())
      throw new ConfigError(
        `Refusing ${file}: the S3 credentials file is not a regular file`,
        refusal('s3-credentials-not-file', { file }),
      );
    const mode = st.mode & 0o777;
    if (mode & 0o077)
      throw new ConfigError(
        `Refusing to start: the S3 credentials file ${file} is readable by others (mode ${mode.toString(8)}); run chmod 600 on it`,
        refusal('s3-credentials-exposed', { file, mode: mode.toString(8) }),
      );
    if (st.size > 4096)
      throw new ConfigError(
        `Refusing ${file}: ${st.size} bytes is no S3 credentials file`,
        refusal('s3-credentials-too-large', { file, size: st.size }),
      );
    text = fs.readFileSync(fd, 'utf8');
  } finally {
    fs.closeSync(fd);
  }
  const values = new Map<string, string>();
  for (const [n, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^(aws_access_key_id|aws_secret_access_key|aws_session_token)\s*=\s*(\S+)$/.exec(line);
    if (!m || values.has(m[1]!))
      throw new ConfigError(
        `${file} line ${n + 1}: an S3 credentials file holds the lines aws_access_key_id = … and aws_secret_access_key = … (and optionally aws_session_token = …), each once`,
        refusal('s3-credentials-line', { file, line: n + 1 }),
      );
    values.set(m[1]!, m[2]!);
  }
  const accessKeyId = values.get('aws_access_key_id');
  const secretAccessKey = values.get('aws_secret_access_key');
  if (!accessKeyId || !secretAccessKey)
    throw new ConfigError(
      `${file} must hold both aws_access_key_id = … and aws_secret_access_key = …`,
      refusal('s3-credentials-incomplete', { file }),
    );
  const sessionToken = values.get('aws_session_token');
  return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
}

/** One client per configuration, its credentials read (and checked) when it is made. */
const clients = new WeakMap<S3Config, S3Client>();

/** The store of one area (`images`, `documents`) in the configured bucket: `<prefix><area>/<relPath>`. */
export function s3SealedStore(config: S3Config, area: string): SealedObjectsS3 {
  let client = clients.get(config);
  if (!client) {
    client = new (s3sdk().S3Client)({
      endpoint: config.endpoint,
      region: config.region,
      credentials: readS3Credentials(config.credentialsFile),
      // Bucket in the path: what every S3-compatible server understands.
      forcePathStyle: true,
      // Checksums only where S3 requires them: the chunks authenticate themselves, and not every
      // S3-compatible server takes the SDK's trailing checksums.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    clients.set(config, client);
  }
  return new SealedObjectsS3(client, config.bucket, `${config.prefix}${area}/`);
}
