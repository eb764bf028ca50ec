// The stretch claimer (`src/audit/stretch-claim.ts`, issue 18): each stretch's bytes are hashed and
// then freed at once, not left for a full garbage collection — over a verification of 300,000 events
// they are ~90 MB, and V8 started a full collection in the middle of the next verification for them.
// A database whose "stretch" is 256 KiB of zeros stands in for the audit chain: the claimer only runs
// the statement its caller gives it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { HOLDS, stretchBoard, stretchClaimer, type StretchPlan } from '../../src/audit/stretch-claim.ts';

const BYTES = 256 * 1024;
/** The statement's parameters are (tenant, from - 1, to): 256 KiB of zeros, and the stretch's row count. */
const SQL = `SELECT zeroblob(${BYTES} + 0 * length(?)) AS rows, -? + ? AS n`;

function plan(
  stretches: number,
  digest = (i: number) => (i % 5 === 3 ? 'not the digest' : hash('sha256', Buffer.alloc(BYTES), 'hex')),
): StretchPlan {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-stretch-'));
  const file = path.join(dir, 'chain.db');
  new Database(file).close();
  return {
    file,
    tenantId: 'chain',
    sql: SQL,
    stretches: Array.from({ length: stretches }, (_, i) => ({ from: 1 + i * 10, to: 10 + i * 10, digest: digest(i) })),
  };
}

test("a stretch's bytes are freed once hashed: claiming 40 stretches of 256 KiB leaves no 10 MiB of ArrayBuffers behind", () => {
  const p = plan(40);
  const board = stretchBoard(p.stretches.length);
  const claimer = stretchClaimer(p, board);
  try {
    const before = process.memoryUsage().arrayBuffers;
    const rows = claimer.claim(p.stretches.length);
    const grown = process.memoryUsage().arrayBuffers - before;
    // Without the release the 40 BLOBs (10 MiB) stay until V8 collects them.
    assert.ok(grown < 2 * 1024 * 1024, `ArrayBuffers grew by ${grown} bytes`);
    // Hashed before they were freed: every stretch with the right digest holds, every other does not.
    const holding = p.stretches.filter((_, i) => i % 5 !== 3).length;
    assert.equal(rows, holding * 10);
    assert.deepEqual(
      [...board.verdicts].map((v, i) => (v === HOLDS) === (i % 5 !== 3)),
      p.stretches.map(() => true),
    );
    assert.equal(claimer.claim(1), -1, 'nothing left to claim');
  } finally {
    claimer.close();
    fs.rmSync(path.dirname(p.file), { recursive: true, force: true });
  }
});
