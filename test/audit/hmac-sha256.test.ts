// The audit link's HMAC written as two SHA-256 digests gives exactly what
// createHmac gives, for any key length and any text (umlauts, surrogate pairs,
// the longest it takes), and declines a text too long for its buffer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { hmacSha256Hex } from '../../src/audit/hmac-sha256.ts';

const reference = (key: Uint8Array, m: string) => createHmac('sha256', key).update(m).digest('hex');

test('equals createHmac for keys of every length and texts of every kind', () => {
  const texts = [
    '',
    'a',
    `${'0'.repeat(64)}\n36:9a82fb1e-ba5a-4c62-8322-c1db8e7d77f1|1:7|`,
    'Müller-Lüdenscheidt, Ärztin für Öffentliches Gesundheitswesen ß',
    '😷 Quarantäne 𝄞 \u0000 \uffff',
    'x'.repeat(5_461),
    'ä'.repeat(5_461),
    '😷'.repeat(2_730),
  ];
  for (const length of [1, 16, 32, 63, 64, 65, 100, 200]) {
    const key = randomBytes(length);
    for (const m of texts) assert.equal(hmacSha256Hex(key, m), reference(key, m), `key ${length} B, text ${m.length}`);
    // Random texts of random lengths, interleaved with other keys (the buffers are shared per key).
    const other = randomBytes(32);
    for (let i = 0; i < 200; i++) {
      const m = randomBytes(Math.floor(Math.random() * 2_000)).toString('latin1');
      assert.equal(hmacSha256Hex(key, m), reference(key, m));
      assert.equal(hmacSha256Hex(other, m.slice(1)), reference(other, m.slice(1)));
    }
  }
});

test('declines a text too long for its buffer, so the caller uses createHmac', () => {
  const key = randomBytes(32);
  assert.equal(hmacSha256Hex(key, 'x'.repeat(5_462)), undefined);
  assert.equal(hmacSha256Hex(key, 'x'.repeat(100_000)), undefined);
});
