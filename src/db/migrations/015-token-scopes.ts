// Migration 015-token-scopes: API tokens carry scopes; older tokens keep DICOMweb and are marked legacy.
// A migration that has run is never changed; a change to the schema is a new migration (see index.ts).
import type { Migration } from 'kysely';
import type { SchemaAtMigration } from './shared.ts';

/**
 * Issue 13: API tokens carry scopes. Tokens minted before had no purpose; they keep
 * working for what they were documented for, DICOMweb (`dicomweb:read dicomweb:store`),
 * and are marked legacy: anything else they answer `token-scope` (403) naming the scope
 * to ask for, and `kartei doctor` lists them until they are replaced. The policy still
 * decides by the owner's roles on top, so no token gains anything.
 */
export const tokenScopes: Migration = {
  async up(db: SchemaAtMigration) {
    await db.schema
      .alterTable('api_tokens')
      .addColumn('scopes', 'text', (c) => c.notNull().defaultTo(''))
      .execute();
    await db.schema
      .alterTable('api_tokens')
      .addColumn('legacy', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
    await db.updateTable('api_tokens').set({ scopes: 'dicomweb:read dicomweb:store', legacy: 1 }).execute();
  },
};
