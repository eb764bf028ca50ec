// The storage watcher's judgement (issue 19): which failures mean "no space", and
// that a state is logged once when it begins, not at every look or refusal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isStorageFull } from '../../src/errors.ts';
import { StorageSpace, storageFindings } from '../../src/ops/storage-space.ts';

test('no space is ENOSPC, EDQUOT, SQLITE_FULL or PostgreSQL 53100, also as the cause of another error', () => {
  const code = (c: string) => Object.assign(new Error('x'), { code: c });
  for (const c of ['ENOSPC', 'EDQUOT', 'SQLITE_FULL', '53100']) assert.ok(isStorageFull(code(c)), c);
  assert.ok(isStorageFull(new Error('audit', { cause: new Error('commit', { cause: code('SQLITE_FULL') }) })));
  for (const c of ['EACCES', 'SQLITE_BUSY', '23505', 'EIO']) assert.ok(!isStorageFull(code(c)), c);
  assert.ok(!isStorageFull(undefined));
  assert.ok(!isStorageFull('ENOSPC'));
});

test('each change of state is logged once: low, then full after a refused write, then back', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-space-'));
  try {
    const lines: [string, string][] = [];
    const log = {
      warn: (_o: object, m: string) => lines.push(['warn', m]),
      error: (_o: object, m: string) => lines.push(['error', m]),
      info: (_o: object, m: string) => lines.push(['info', m]),
    };
    // A threshold no disk reaches: low at once.
    const space = new StorageSpace({ dataDir: dir, keyDir: dir, storageLowBytes: Number.MAX_SAFE_INTEGER }, 50);
    space.start(log);
    space.check();
    space.check();
    assert.equal(space.state, 'low');
    assert.deepEqual(lines, [['warn', 'storage low: free space under the warning threshold']]);
    for (let i = 0; i < 100; i++) space.noteFull();
    assert.equal(space.state, 'full');
    assert.equal(space.refusals, 100);
    assert.equal(lines.filter(([, m]) => m.startsWith('storage full')).length, 1, 'one line for 100 refusals');
    space.stop();
    // The data and key directories on one file system: one finding, not two.
    const findings = storageFindings({ dataDir: dir, keyDir: dir, storageLowBytes: Number.MAX_SAFE_INTEGER });
    assert.deepEqual(
      findings.map((f) => [f.code, f.severity]),
      [['storage-low', 'high']],
    );
    assert.equal(
      storageFindings({ dataDir: dir, keyDir: dir, storageLowBytes: 0 }).length,
      0,
      'no threshold, room left',
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a refused write holds `full` for one interval, then free space decides again', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-space-'));
  try {
    const space = new StorageSpace({ dataDir: dir, keyDir: dir, storageLowBytes: 0 }, 100);
    space.noteFull();
    assert.equal(space.state, 'full');
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(space.check(), 'ok');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
