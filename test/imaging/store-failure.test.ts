// storeFailure: the one mapping of a failed store to its DIMSE status; a full disk is
// "out of resources" (0xA700), never "cannot understand" (0xC000), wherever it was thrown.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KarteiError } from '../../src/errors.ts';
import { Status } from '../../src/imaging/dicom/command.ts';
import { StoreFailure, storeFailure } from '../../src/imaging/store-instance.ts';

const enospc = () => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });

test('a full disk while writing the file is out of resources, not an unreadable dataset', () => {
  for (const e of [
    enospc(),
    Object.assign(new Error('quota'), { code: 'EDQUOT' }),
    Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' }),
    new Error('sealing failed', { cause: enospc() }),
  ]) {
    const f = storeFailure(e);
    assert.ok(f instanceof StoreFailure);
    assert.equal(f.status, Status.OutOfResources);
    assert.equal(f.message, 'storage full; not stored');
  }
});

test('a full disk behind an audit or index failure is still storage full', () => {
  const f = storeFailure(Object.assign(new KarteiError('audit-unavailable'), { cause: enospc() }));
  assert.equal(f.status, Status.OutOfResources);
});

test('other failures keep their statuses', () => {
  assert.equal(storeFailure(new Error('bad tag')).status, Status.CannotUnderstand);
  assert.equal(storeFailure(new StoreFailure(0xa900, 'x')).status, 0xa900);
});
