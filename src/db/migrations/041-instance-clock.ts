// Migration 041-instance-clock: each running server's clock against the database's (issue 19). Which
// instance is live is judged by the database's clock alone (src/db/instances.ts), but audit events,
// checkpoints and tokens are timed by each host's own; every heartbeat measures the gap, and the row keeps
// it so `kartei doctor`, run on any host, names every instance whose clock is off — not only its own host.
// A migration that has run is never changed; a change to the schema is a new migration (see index.ts).
import type { Migration } from 'kysely';
import type { SchemaAtMigration } from './shared.ts';

/**
 * Issue 19: instance clock.
 * - `server_instances.clock_skew_ms`: how far the instance's clock was surely off the database's at its
 *   last measurement, in milliseconds (> 0 ahead, < 0 behind; the round trip's slack taken off, so 0 when
 *   within it); null before the first measurement.
 */
export const instanceClock: Migration = {
  async up(db: SchemaAtMigration) {
    await db.schema.alterTable('server_instances').addColumn('clock_skew_ms', 'integer').execute();
  },
};
