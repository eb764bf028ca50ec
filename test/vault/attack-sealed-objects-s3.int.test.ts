// Attacks on sealed objects in an S3 store (issue 19, vault/sealed-objects-s3.ts), against a real
// S3-compatible server (s3rver): crafted names never reach a key outside the store's own, an object
// copied under another office's name or into the other area does not open there, an object the store
// did not write (plain bytes, a forged header) fails as unreadable, and names that are not the store's
// (traversal, encoded separators) are not listed for recovery to act on.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  CopyObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { bindingBytes, DecryptionError } from '../../src/vault/aead.ts';
import { readS3Credentials, s3SealedStore } from '../../src/vault/sealed-objects-s3.ts';
import type { SealedStore } from '../../src/vault/sealed-store.ts';
import { startS3Server, type S3TestServer } from '../helpers/s3-server.ts';

const key = randomBytes(32);
const aadOf = (relPath: string) =>
  bindingBytes({ tenantId: relPath.split('/')[0]!, table: 'instances', rowId: relPath, field: 'file' });

async function put(s: SealedStore, relPath: string, plain: Buffer) {
  const w = s.create(relPath, key, aadOf(relPath), { chunkSize: 1024 });
  await pipeline(Readable.from([plain]), w.stream);
  return w.commit();
}

async function read(s: SealedStore, relPath: string, aad = aadOf(relPath)): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of s.openRead(relPath, key, aad)) parts.push(p);
  return Buffer.concat(parts);
}

describe('sealed objects in S3 under attack', () => {
  let server: S3TestServer;
  let images: SealedStore;
  let documents: SealedStore;
  let s3: S3Client;
  const bucket = () => server.config.bucket;
  const keyOf = (area: string, relPath: string) => `${server.config.prefix}${area}/${relPath}`;
  before(async () => {
    server = await startS3Server();
    images = s3SealedStore(server.config, 'images');
    documents = s3SealedStore(server.config, 'documents');
    s3 = new S3Client({
      endpoint: server.config.endpoint,
      region: server.config.region,
      credentials: readS3Credentials(server.config.credentialsFile),
      forcePathStyle: true,
    });
  });
  after(async () => {
    s3?.destroy();
    await images?.close?.();
    await documents?.close?.();
    await server?.stop();
  });

  const copy = (from: string, to: string) =>
    s3.send(new CopyObjectCommand({ Bucket: bucket(), CopySource: `${bucket()}/${from}`, Key: to }));
  const bytesAt = async (objectKey: string) =>
    Buffer.from(
      await (await s3.send(new GetObjectCommand({ Bucket: bucket(), Key: objectKey }))).Body!.transformToByteArray(),
    );

  test('crafted names are refused before any request', async () => {
    await put(images, 'tA/secret/1', Buffer.from('office A only'));
    for (const p of [
      'tB/../tA/secret/1',
      'tB/..%2ftA/secret/1',
      '../documents/tA/x',
      'tA/secret/1/',
      '/tA/x',
      'tA//x',
      'tA/\uff0e\uff0e/x',
      'tA/x\u0000',
      'tA/x.tmp-1',
    ]) {
      assert.throws(() => images.create(p, key, aadOf(p)), /invalid sealed file path/, p);
      await assert.rejects(images.readRange(p, key, aadOf(p), 0, 1), /invalid sealed file path/, p);
      await assert.rejects(images.remove(p), /invalid sealed file path/, p);
    }
    assert.equal((await read(images, 'tA/secret/1')).toString(), 'office A only');
  });

  test("an object copied under another office's name, or into the other area, does not open there", async () => {
    const plain = Buffer.from('Befund: nur für Amt A');
    await put(images, 'tA/copy/src', plain);
    await copy(keyOf('images', 'tA/copy/src'), keyOf('images', 'tB/copy/dst'));
    await assert.rejects(read(images, 'tB/copy/dst'), DecryptionError);
    await copy(keyOf('images', 'tA/copy/src'), keyOf('documents', 'tA/copy/src2'));
    await assert.rejects(read(documents, 'tA/copy/src2'), DecryptionError);
    // The control: the copy is byte for byte the original, and opens under the original's binding.
    assert.deepEqual(await read(images, 'tB/copy/dst', aadOf('tA/copy/src')), plain);
  });

  test('an object the store did not write fails as unreadable, whatever its header declares', async () => {
    const forged: [string, Buffer][] = [
      ['plain', Buffer.from('Klartext, den jemand in den Bucket legte')],
      ['empty', Buffer.alloc(0)],
      [
        'huge-chunks',
        Buffer.concat([
          Buffer.from('KSTR'),
          Buffer.from([1, 0xff, 0xff, 0xff, 0xff]),
          randomBytes(39),
          randomBytes(64),
        ]),
      ],
      [
        'version-2',
        Buffer.concat([
          Buffer.from('KSTR'),
          Buffer.from([2, 0, 0, 4, 0, 0x01, 0x00]),
          randomBytes(37),
          randomBytes(64),
        ]),
      ],
    ];
    for (const [name, body] of forged) {
      await s3.send(new PutObjectCommand({ Bucket: bucket(), Key: keyOf('images', `tA/forged/${name}`), Body: body }));
      await assert.rejects(
        read(images, `tA/forged/${name}`),
        (e: Error) => e instanceof DecryptionError || /truncated|sealed/.test(e.message),
        name,
      );
    }
    // A flipped bit of a stored object is found too.
    await put(images, 'tA/forged/flip', randomBytes(5000));
    const b = await bytesAt(keyOf('images', 'tA/forged/flip'));
    b[b.length - 20]! ^= 1;
    await s3.send(new PutObjectCommand({ Bucket: bucket(), Key: keyOf('images', 'tA/forged/flip'), Body: b }));
    await assert.rejects(read(images, 'tA/forged/flip'), DecryptionError);
  });

  test('names the store could not have written are not listed for recovery', async () => {
    const tried = ['tA/../../escape', 'tA/../x', 'tA/%2e%2e/x', 'tA/%2F/x', 'tA/x y', 'tA//x', 'tA/\u00e4', 'tA/./x'];
    // Whatever this server takes (s3rver keeps objects as files and refuses some of these names).
    const foreign: string[] = [];
    for (const n of tried)
      await s3.send(new PutObjectCommand({ Bucket: bucket(), Key: keyOf('images', n), Body: Buffer.from('x') })).then(
        () => foreign.push(n),
        () => undefined,
      );
    const listed =
      (await s3.send(new ListObjectsV2Command({ Bucket: bucket(), Prefix: keyOf('images', '') }))).Contents ?? [];
    assert.ok(foreign.length >= 4 && listed.length >= 4, `the server holds them: ${foreign.join(' ')}`);
    const walked: string[] = [];
    for await (const e of images.walk()) walked.push(e.relPath);
    const leaked = walked.filter((p) => foreign.includes(p) || p.includes('..') || p.includes('%'));
    assert.deepEqual(leaked, []);
  });

  test("the AWS SDK's environment does not redirect the store or replace its credentials", async () => {
    const planted: Record<string, string> = {
      AWS_ACCESS_KEY_ID: 'AKIAPLANTED',
      AWS_SECRET_ACCESS_KEY: 'planted-secret',
      AWS_SESSION_TOKEN: 'planted-token',
      AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
      AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9',
      AWS_REGION: 'planted-region-1',
      AWS_PROFILE: 'planted',
      AWS_S3_DISABLE_MULTIREGION_ACCESS_POINTS: 'true',
    };
    const saved = Object.fromEntries(Object.keys(planted).map((k) => [k, process.env[k]]));
    Object.assign(process.env, planted);
    try {
      // A configuration of its own: a client made now, with the planted environment.
      const store = s3SealedStore({ ...server.config }, 'images');
      const plain = randomBytes(3000);
      await put(store, 'tA/env/1', plain);
      assert.deepEqual(
        await read(store, 'tA/env/1'),
        plain,
        "written and read at the configured endpoint with the file's keys",
      );
    } finally {
      for (const [k, v] of Object.entries(saved))
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
    }
  });
});
