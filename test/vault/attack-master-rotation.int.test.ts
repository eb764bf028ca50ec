// Attack (issue 19, keys × offices): `kartei offices add` takes no lock, so it can run while
// `kartei keys rotate-master` runs. Made deterministic in one process: at the rotation's
// 'linked' step (offices listed and re-wrapped, the old master about to be retired) an office is
// added (1) through a keyring loaded from the key directory — refused, since the directory now holds
// a second master — and (2) through a keyring that loaded the old master before the rotation began
// and checks nothing (a process whose check passed just before): its key, wrapped under the old
// master, is re-wrapped by the rotation's finish. Whatever the order, no office key may be left that
// no master in the key directory opens. And at every step of a rotation, every file in the key
// directory is 0600, the directory 0700, nothing in it a link, and after it no retired master or
// temporary file is left.
import { test } from 'node:test';
import fs from 'node:fs';
import path from 'node:path';
import assert from 'node:assert/strict';
import { inTenantTransaction } from '../../src/db/connect.ts';
import { addOffice } from '../../src/identity/offices.ts';
import { Keyring } from '../../src/vault/keyring.ts';
import { loadMasterKeys } from '../../src/vault/master-keys.ts';
import { rotateMaster } from '../../src/vault/master-rotation.ts';
import { setUpTenant, startHarness } from '../helpers/harness.ts';

test('an office added while a master rotation runs is refused, or still opens after the rotation', async () => {
  const h = await startHarness();
  try {
    await setUpTenant(h, ['INF']);
    const stale = new Keyring(loadMasterKeys(h.config.keyDir)); // the old master, no look at the directory
    let refused: unknown;
    let added: string | undefined;
    await rotateMaster(h.config.keyDir, h.services.store, async (step) => {
      if (step !== 'linked' || added) return;
      await assert.rejects(
        addOffice(h.services.store, h.services.keyring, h.services.audit, { name: 'Amt A', host: 'amt-a.example' }),
        (e: Error) => {
          refused = e;
          return /rotation/.test(e.message);
        },
      );
      const r = await addOffice(h.services.store, stale, h.services.audit, { name: 'Amt B', host: 'amt-b.example' });
      added = r.office.id;
    });
    assert.ok(refused, 'the keyring from the key directory refused an office during the rotation');
    assert.ok(added, 'the stale keyring added an office mid-rotation');
    const after = Keyring.fromKeyDir(h.config.keyDir);
    await assert.doesNotReject(
      inTenantTransaction(h.services.store, added!, (tx) => after.tenantKey(tx, added!)),
      'the office added mid-rotation opens under the master left in the key directory',
    );
    await assert.rejects(
      addOffice(h.services.store, h.services.keyring, h.services.audit, { name: 'Amt C', host: 'amt-c.example' }),
      /rotation/,
      'a keyring that still holds the retired master writes no office key under it after the rotation',
    );
  } finally {
    await h.close();
  }
});

test('at every step of a master rotation the key directory holds only 0600 files in a 0700 directory; after it no retired master', async () => {
  const h = await startHarness();
  try {
    await setUpTenant(h, ['INF']);
    const dir = h.config.keyDir;
    const seen: string[] = [];
    const check = (when: string) => {
      assert.equal(fs.lstatSync(dir).mode & 0o777, 0o700, `${when}: the directory`);
      for (const f of fs.readdirSync(dir)) {
        const st = fs.lstatSync(path.join(dir, f));
        assert.ok(st.isFile(), `${when}: ${f} is not a regular file`);
        assert.equal(st.mode & 0o077, 0, `${when}: ${f} has mode ${(st.mode & 0o777).toString(8)}`);
      }
    };
    // A umask that would leave files readable by others, as an operator's shell might have.
    const umask = process.umask(0o002);
    try {
      await rotateMaster(dir, h.services.store, (step) => {
        seen.push(step);
        check(step);
      });
    } finally {
      process.umask(umask);
    }
    assert.deepEqual(seen, ['prepared', 'indexed', 'rewrapped', 'linked', 'switched', 'finished']);
    const left = fs.readdirSync(dir).filter((f) => /retired|next|\.tmp$/.test(f));
    assert.deepEqual(left, [], 'a retired or next master, or a temporary file, left behind');
    assert.equal(fs.readdirSync(dir).filter((f) => f.startsWith('deployment-index.')).length, 1);
  } finally {
    await h.close();
  }
});
