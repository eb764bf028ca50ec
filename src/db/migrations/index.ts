// Every migration of the schema, by name and in order. One file per migration, named by its
// number and what it does (`020-….ts`); a new one is a new file and one line in the list below.
// The names are what a database has recorded as run, so they never change (the numbers 009, 017
// and 018 are not used).
import type { Migration } from 'kysely';
import type { Dialect } from '../schema.ts';
import { core } from './001-core.ts';
import { coreWalls } from './002-postgres-walls.ts';
import { imaging } from './003-imaging.ts';
import { imagingLookups } from './004-imaging-lookups.ts';
import { instanceSamples } from './005-instance-samples.ts';
import { instanceNoPlainDigest } from './006-instance-no-plain-digest.ts';
import { auditEventsByTime } from './007-audit-events-by-time.ts';
import { throttle } from './008-throttle-counters.ts';
import { devicesPerTenant } from './010-devices-per-tenant.ts';
import { emergencyAccess } from './011-emergency-access.ts';
import { accounts } from './012-accounts.ts';
import { passkeys } from './013-passkeys.ts';
import { oidc } from './014-oidc.ts';
import { tokenScopes } from './015-token-scopes.ts';
import { restrictedListing } from './016-restricted-listing.ts';
import { recordsByFileAndTime } from './019-records-by-file-and-time.ts';
import { ifsgCases } from './020-ifsg-cases.ts';
import { demisConnection } from './021-demis-connection.ts';
// Issue 16: inbox
import { demisInbox } from './022-demis-inbox.ts';
// Issue 16: cases & contacts
import { contacts } from './023-contacts.ts';
// Issue 16: outbreaks
import { outbreaks } from './024-outbreaks.ts';
// Issue 16: transmission
import { transmission } from './025-transmission.ts';
// Issue 16: person merge
import { personMerges } from './026-person-merges.ts';
// Issue 16: seams
import { followUpPerson } from './027-follow-up-person.ts';
// Issue 17: documents
import { documents } from './028-documents.ts';
// Issue 17: tasks
import { tasks } from './029-tasks.ts';
// Issue 17: letters
import { letters } from './030-letters.ts';
// Issue 17: import
import { importJobs } from './031-import.ts';
// Issue 18: gate3
import { storeUpgrades } from './032-store-upgrades.ts';
// Issue 19: audit
import { auditCheckpointDigest } from './033-audit-checkpoint-digest.ts';
// Issue 19: keys
import { keyRotation } from './034-key-rotation.ts';
// Issue 19: offices
import { offices } from './037-offices.ts';
// Issue 19: storage-db
import { sealedObjects } from './038-sealed-objects.ts';
// Issue 19: instances
import { instances } from './039-instances.ts';
// Issue 19: attack on storage
import { storageWalls } from './040-storage-walls.ts';
// Issue 19: instance clock
import { instanceClock } from './041-instance-clock.ts';
// Issue 18: principal cache
import { principalVersion } from './042-principal-version.ts';
// Issue 18: s26-principal-attack
import { principalVersionReplace } from './043-principal-version-replace.ts';

/** Every migration by name, in order (tests migrate to one of them, then on). */
export function migrationSet(dialect: Dialect, appRole: string | undefined): Record<string, Migration> {
  const postgres = dialect === 'postgres';
  return {
    '001-core': core(dialect),
    ...(postgres ? { '002-postgres-walls': coreWalls(appRole) } : {}),
    '003-imaging': imaging(dialect, appRole),
    '004-imaging-lookups': imagingLookups,
    '005-instance-samples': instanceSamples,
    '006-instance-no-plain-digest': instanceNoPlainDigest,
    '007-audit-events-by-time': auditEventsByTime,
    '008-throttle-counters': throttle(dialect, appRole),
    '010-devices-per-tenant': devicesPerTenant(dialect),
    '011-emergency-access': emergencyAccess(dialect, appRole),
    '012-accounts': accounts(dialect, appRole),
    '013-passkeys': passkeys(dialect, appRole),
    '014-oidc': oidc(dialect, appRole),
    '015-token-scopes': tokenScopes,
    '016-restricted-listing': restrictedListing,
    '019-records-by-file-and-time': recordsByFileAndTime,
    '020-ifsg-cases': ifsgCases(dialect, appRole),
    '021-demis-connection': demisConnection(dialect, appRole),
    // Issue 16: inbox
    '022-demis-inbox': demisInbox(dialect, appRole),
    // Issue 16: cases & contacts
    '023-contacts': contacts(dialect, appRole),
    // Issue 16: outbreaks
    '024-outbreaks': outbreaks(dialect, appRole),
    // Issue 16: transmission
    '025-transmission': transmission(dialect, appRole),
    // Issue 16: person merge
    '026-person-merges': personMerges(dialect, appRole),
    // Issue 16: seams
    '027-follow-up-person': followUpPerson(dialect),
    // Issue 17: documents
    '028-documents': documents(dialect, appRole),
    // Issue 17: tasks
    '029-tasks': tasks(dialect, appRole),
    // Issue 17: letters
    '030-letters': letters(dialect, appRole),
    // Issue 17: import
    '031-import': importJobs(dialect, appRole),
    // Issue 18: gate3
    '032-store-upgrades': storeUpgrades(dialect, appRole),
    // Issue 19: audit
    '033-audit-checkpoint-digest': auditCheckpointDigest(dialect),
    // Issue 19: keys
    '034-key-rotation': keyRotation,
    // Issue 19: offices
    '037-offices': offices(dialect, appRole),
    // Issue 19: storage-db (nothing on SQLite: there images and documents stay files)
    '038-sealed-objects': sealedObjects(dialect, appRole),
    // Issue 19: instances
    '039-instances': instances(dialect, appRole),
    // Issue 19: attack on storage (nothing on SQLite)
    '040-storage-walls': storageWalls(dialect, appRole),
    // Issue 19: instance clock
    '041-instance-clock': instanceClock,
    // Issue 18: principal cache (nothing on PostgreSQL)
    '042-principal-version': principalVersion(dialect),
    // Issue 18: s26-principal-attack (nothing on PostgreSQL)
    '043-principal-version-replace': principalVersionReplace(dialect),
  };
}
