// Attack (issue 19, keys): what a key directory and a ciphertext's header will take. A relabelled
// key version (form 2 → form 1 and back, version n → m) opens nothing; a key file planted as a
// symbolic link (`master.next.key`, `master.retired.key` pointing out of the key
// directory: Kartei writes these itself and never as links) is refused, not adopted as a
// master; a planted `deployment-index.<id>.key` that does not open stops the start instead of
// silently deriving another index key (usernames would no longer be found).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { bindingBytes, DecryptionError, open, registerKeyVersions, seal } from '../../src/vault/aead.ts';
import { indexKeyFile, keyId, loadMasterKeys } from '../../src/vault/master-keys.ts';
import { masterRotationState } from '../../src/vault/master-rotation.ts';
import { keyDirectoryOddities } from '../../src/vault/key-file.ts';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-attack-keydir-'));
after(() => fs.rmSync(work, { recursive: true, force: true }));
const aad = bindingBytes({ tenantId: 't', table: 'data_keys', rowId: 'r', field: 'wrapped' });

test('a relabelled form or key version opens nothing', () => {
  const v1 = randomBytes(32);
  const v2 = randomBytes(32);
  const v3 = randomBytes(32);
  const byVersion = new Map([
    [1, v1],
    [2, v2],
    [3, v3],
  ]);
  registerKeyVersions(v3, { version: 3, byVersion });
  registerKeyVersions(v2, { version: 2, byVersion });
  const plain = Buffer.from('Schlüssel einer Person');
  const under2 = seal(v2, plain, aad);
  // Form 2 → form 1: the version bytes dropped, the rest read as version 1's iv and body.
  const asForm1 = Buffer.concat([Buffer.of(1), under2.subarray(3)]);
  assert.throws(() => open(v3, asForm1, aad), DecryptionError);
  // Form 2 version 2 → 3 and → 1.
  for (const v of [1, 3]) {
    const b = Buffer.from(under2);
    b.writeUInt16BE(v, 1);
    assert.throws(() => open(v3, b, aad), DecryptionError, `version ${v}`);
  }
  // Form 1 → form 2 version 2: version 1's body under version 2's key.
  const under1 = seal(v1, plain, aad);
  const asV2 = Buffer.concat([Buffer.of(2, 0, 2), under1.subarray(1)]);
  assert.throws(() => open(v3, asV2, aad), DecryptionError);
  // Version 0 and 0xffff are no versions.
  for (const v of [0, 0xffff]) {
    const b = Buffer.from(under2);
    b.writeUInt16BE(v, 1);
    assert.throws(() => open(v3, b, aad), DecryptionError);
  }
});

function keyDir(name: string): string {
  const dir = path.join(work, name);
  fs.mkdirSync(dir, { mode: 0o700 });
  fs.writeFileSync(path.join(dir, 'master.key'), randomBytes(32), { mode: 0o600 });
  return dir;
}

/** A 0600 key of the same owner outside the key directory (say, in a shared temporary directory). */
function outside(name: string): { file: string; key: Buffer } {
  const key = randomBytes(32);
  const file = path.join(work, `${name}.outside`);
  fs.writeFileSync(file, key, { mode: 0o600 });
  return { file, key };
}

for (const planted of ['master.next.key', 'master.retired.key']) {
  test(`a ${planted} that is a symbolic link out of the key directory is not taken as a master`, () => {
    const dir = keyDir(planted.replace(/\W/g, '-'));
    const evil = outside(planted);
    fs.symlinkSync(evil.file, path.join(dir, planted));
    let others: Buffer[] = [];
    try {
      others = loadMasterKeys(dir).others ?? [];
    } catch {
      return; // refused: holds
    }
    assert.ok(!others.some((k) => k.equals(evil.key)), `${planted} (a link) was loaded as a master`);
    // Nor does the rotation's state take it as a rotation under way.
    assert.equal(masterRotationState(dir).state, 'none');
  });
}

// master.key itself may be a link on purpose (a container's secret volume is made of links): not attacked here.

test('a planted deployment index key that does not open under the master stops the start', () => {
  const dir = keyDir('planted-index');
  const master = fs.readFileSync(path.join(dir, 'master.key'));
  fs.writeFileSync(path.join(dir, indexKeyFile(keyId(master))), seal(randomBytes(32), randomBytes(32), aad), {
    mode: 0o600,
  });
  assert.throws(() => loadMasterKeys(dir), DecryptionError);
});

test('key files readable by others are refused, also when a rotation left them', () => {
  const dir = keyDir('modes');
  fs.writeFileSync(path.join(dir, 'master.next.key'), randomBytes(32), { mode: 0o644 });
  assert.throws(() => loadMasterKeys(dir), /readable by others/);
});

test('the doctor lists a link where Kartei writes a key itself and a file Kartei does not write; a FIFO is refused, not waited on', () => {
  const dir = keyDir('oddities');
  const evil = outside('oddities');
  fs.symlinkSync(evil.file, path.join(dir, 'master.retired.key'));
  fs.writeFileSync(path.join(dir, 'notes.txt'), 'x', { mode: 0o600 });
  fs.writeFileSync(path.join(dir, 'audit-witness.json'), '{}', { mode: 0o600 });
  assert.deepEqual(keyDirectoryOddities(dir), {
    links: [path.join(dir, 'master.retired.key')],
    unknown: [path.join(dir, 'notes.txt')],
  });
  assert.throws(() => masterRotationState(dir), /symbolic link/);
  // A FIFO as master.next.key: refused at once (a blocking read would hang the start).
  const fifoDir = keyDir('fifo');
  execFileSync('mkfifo', ['-m', '600', path.join(fifoDir, 'master.next.key')]);
  assert.throws(() => loadMasterKeys(fifoDir), /not a regular file/);
});
