// Attack (issue 19, keys × offices): `kartei offices add` takes no lock, so it can run while
// `kartei keys rotate-master` runs. Made deterministic in one process: at the rotation's
// 'linked' step (offices listed and re-wrapped, the old master about to be retired) an office is
// added (1) through a keyring loaded from the key directory — refused, since the directory now holds
// a second master — and (2) through a keyring that loaded the old master before the rotation began
// and checks nothing (a process whose check passed just before): its key, wrapped under the old
// master, is re-wrapped by the rotation's finish. Whatever the order, no office key may be left that
// no master in the key directory opens.
import { test } from 'node:test';
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
