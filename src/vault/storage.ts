// Where sealed images and documents live, decided in one place (issue 19): the
// store the services get for each area, by `KARTEI_STORAGE` (config.ts,
// `storageKind`): `database` — rows in PostgreSQL (sealed-rows.ts), the default
// there and shared by every instance; `files` — the data directory
// (sealed-files.ts), the default and only choice with SQLite; `s3` — an
// S3-compatible object store (sealed-objects-s3.ts, KARTEI_S3_*), shared by every instance too.
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, storageKind, type Config } from '../config/config.ts';
import type { Store } from '../db/connect.ts';
import { SealedFiles } from './sealed-files.ts';
import { s3SealedStore } from './sealed-objects-s3.ts';
import { type StorageArea, SealedRows } from './sealed-rows.ts';
import type { SealedStore } from './sealed-store.ts';
import { refusal } from '../config/refusal.ts'; // Issue 19: s23-german-cli

export function openSealedStore(
  config: Pick<Config, 'storage' | 'databaseUrl' | 'dataDir' | 's3'>,
  store: Store,
  area: StorageArea,
): SealedStore {
  const kind = storageKind(config);
  switch (kind) {
    case 'files':
      return new SealedFiles(path.join(config.dataDir, area));
    case 'database': {
      if (store.dialect !== 'postgres')
        throw new ConfigError(
          'KARTEI_STORAGE=database keeps images and documents in PostgreSQL; with SQLite they live in the data directory (KARTEI_STORAGE=files).',
          refusal('storage-database-sqlite'),
        );
      // Files from before (a PostgreSQL installation from before issue 19 kept them in the data directory):
      // the database would not know them, and every one would look lost. The operator decides.
      const left = firstFile(path.join(config.dataDir, area));
      if (left)
        throw new ConfigError(
          `Refusing to start: images and documents are kept in PostgreSQL (KARTEI_STORAGE${config.storage ? '=database' : ' unset'}), ` +
            `but the data directory holds ${area} as files (${left}). Set KARTEI_STORAGE=files to keep using them.`,
          refusal('storage-files-left-database', { area, left }),
        );
      return new SealedRows(store, area);
    }
    case 's3': {
      if (!config.s3)
        throw new ConfigError(
          'KARTEI_STORAGE=s3 needs the KARTEI_S3_* settings (config.ts)',
          refusal('storage-s3-unset'),
        );
      // Files from before, as for the database: the bucket would not have them.
      const left = firstFile(path.join(config.dataDir, area));
      if (left)
        throw new ConfigError(
          `Refusing to start: images and documents are kept in S3 (KARTEI_STORAGE=s3), ` +
            `but the data directory holds ${area} as files (${left}). Set KARTEI_STORAGE=files to keep using them.`,
          refusal('storage-files-left-s3', { area, left }),
        );
      return s3SealedStore(config.s3, area);
    }
  }
}

/** Some file under `dir` (depth first), if any. */
function firstFile(dir: string): string | undefined {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isFile()) return p;
    if (e.isDirectory()) {
      const f = firstFile(p);
      if (f) return f;
    }
  }
  return undefined;
}
