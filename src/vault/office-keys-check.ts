// Issue 19: s25-start-files — before the services start: every office's key opens with the key
// directory's masters. One that does not (its row gone, master.key replaced or lost — Kartei would
// have made a new one — or a master a rotation left removed) is a refusal naming the master key
// file, instead of Node's stack from the first step that needed it (the person index's upgrade, a
// request's internal-error). Opening them also warms the keyring's cache; a few offices, one
// transaction each.
import path from 'node:path';
import { inTenantTransaction, type Store } from '../db/connect.ts';
import { refusal } from '../config/refusal.ts';
import { KeyFileError } from './key-file.ts';
import { type Keyring, MASTER_KEY_FILE, OfficeKeyUnavailableError } from './keyring.ts';

export async function refuseUnopenableOfficeKeys(store: Store, keyring: Keyring, keyDir: string): Promise<void> {
  const offices = await store.db.selectFrom('tenants').select(['id', 'name']).execute();
  for (const { id, name } of offices) {
    try {
      await inTenantTransaction(store, id, (tx) => keyring.tenantKey(tx, id));
    } catch (e) {
      if (!(e instanceof OfficeKeyUnavailableError)) throw e;
      const file = path.join(keyDir, MASTER_KEY_FILE);
      throw new KeyFileError(
        `Refusing to start: the key of the office "${name}" does not open with the master key ${file} (${e.message}): this key directory does not belong to this database, or its master key was replaced or lost; put back the key directory that belongs to it (its backup: kartei backup --keys)`,
        refusal('office-key-unopenable', { file, office: name }),
      );
    }
  }
}
