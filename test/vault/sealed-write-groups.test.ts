// The sealed writer's write calls (sealed-files.ts `writeGroups`): the sealed bytes cut into
// calls that never cross a WRITE_PIECE boundary of the file, in order, nothing lost or repeated.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WRITE_PIECE, writeGroups } from '../../src/vault/sealed-files.ts';

const bytes = (n: number, seed: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff));

test('sealed pieces are written in calls within one aligned WRITE_PIECE each, byte for byte in order', () => {
  for (const offset of [0, 1, 40, WRITE_PIECE - 16, WRITE_PIECE, 3 * WRITE_PIECE + 7]) {
    for (const sizes of [[40], [40, 256 * 1024, 16], [256 * 1024, 16, 100_000, 16], [WRITE_PIECE], [0, 5]]) {
      const out = sizes.map((n, i) => bytes(n, i));
      const groups = writeGroups(out, offset);
      let at = offset;
      for (const g of groups) {
        const len = g.reduce((n, b) => n + b.length, 0);
        assert.ok(len > 0);
        assert.equal(Math.floor(at / WRITE_PIECE), Math.floor((at + len - 1) / WRITE_PIECE), `crosses at ${at}+${len}`);
        at += len;
      }
      assert.deepEqual(Buffer.concat(groups.flat()), Buffer.concat(out));
    }
  }
});
