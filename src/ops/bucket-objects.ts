// Issue 19: backup and restore with images and documents in an S3-compatible store
// (KARTEI_STORAGE=s3). The bucket is not copied into a backup — its versioning or replication is the
// operator's, as the database's dump is with PostgreSQL — but a backup checks, for the rows of its
// snapshot, and a restore, for the rows it puts back, that every object they name is in the bucket,
// and counts them. Kartei never overwrites or removes an object while a row names it.
import { ConfigError, type Config } from '../config/config.ts';
import { s3SealedStore } from '../vault/sealed-objects-s3.ts';
import type { StoredObjects } from './backup-manifest.ts';
import { refusal } from '../config/refusal.ts'; // Issue 19: s23-german-cli

const AREAS = ['images', 'documents'] as const;

/** The objects `files` (paths under the data directory's layout: `images/…`, `documents/…`) name, checked in the bucket. */
export async function bucketObjects(config: Pick<Config, 's3'>, files: string[]): Promise<StoredObjects> {
  if (!config.s3)
    throw new ConfigError('KARTEI_STORAGE=s3 needs the KARTEI_S3_* settings', refusal('storage-s3-unset'));
  const present = new Set<string>();
  for (const area of AREAS)
    for await (const e of s3SealedStore(config.s3, area).walk()) if (!e.temporary) present.add(`${area}/${e.relPath}`);
  return {
    storage: 's3',
    images: files.filter((f) => f.startsWith('images/')).length,
    documents: files.filter((f) => f.startsWith('documents/')).length,
    missing: files.filter((f) => !present.has(f)).length,
  };
}
