// multipart/related bodies as WADO-RS sends them: every part streamed in order,
// and the next parts read ahead while one is sent (or stalls), a bounded number.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { finished } from 'node:stream/promises';
import { multipartRelated } from '../../src/imaging/dicomweb-codec/multipart.ts';

test('while the first part waits on its file, the next three are read ahead and no more; all arrive in order', async () => {
  const started = new Set<number>();
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const body = async function* (i: number) {
    started.add(i);
    if (i === 0) await gate;
    yield Buffer.from(`part ${i}`);
  };
  const m = multipartRelated(
    'application/dicom',
    Array.from({ length: 6 }, (_, i) => ({ contentType: 'application/dicom', body: body(i) })),
  );
  const chunks: Buffer[] = [];
  m.stream.on('data', (c: Buffer) => chunks.push(c));
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.deepEqual([...started].sort(), [0, 1, 2, 3]);
  release();
  await finished(m.stream);
  const text = Buffer.concat(chunks).toString();
  assert.deepEqual(
    [...text.matchAll(/part (\d)/g)].map((x) => Number(x[1])),
    [0, 1, 2, 3, 4, 5],
  );
  assert.equal(text.split('Content-Type: application/dicom').length, 7);
});
