// Migration 002-postgres-walls: PostgreSQL only, the row-level walls and grants of the tables of 001.
// A migration that has run is never changed; a change to the schema is a new migration (see index.ts).
import type { Migration } from 'kysely';
import { CORE_TENANT_TABLES } from '../schema.ts';
import { postgresWalls } from './shared.ts';

/** PostgreSQL only: the tables of 001 walled by tenant, the application's role given data access. */
export function coreWalls(appRole: string | undefined): Migration {
  return { up: (db) => postgresWalls(db, CORE_TENANT_TABLES, appRole) };
}
