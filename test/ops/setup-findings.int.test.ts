// The doctor's first-run findings with several instances (issue 19): a setup link printed by another
// instance (its token file in another data directory, its hash in the shared database) is pending
// here too — not "start the server to get a link"; a link that expired or none at all is not.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createServices } from '../../src/services.ts';
import { loadConfig } from '../../src/config/config.ts';
import { issueSetupToken } from '../../src/identity/setup.ts';
import { databaseFindings } from '../../src/ops/security-findings.ts';
import { PG_ADMIN, freshPostgresEnv } from '../helpers/harness.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-setup-findings-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('setup pending where another instance printed the link; not started where none is valid', async () => {
  const env = {
    KARTEI_DATA_DIR: path.join(dir, 'data'),
    KARTEI_KEY_DIR: path.join(dir, 'keys'),
    KARTEI_LOG_LEVEL: 'silent',
    ...(PG_ADMIN ? await freshPostgresEnv() : {}),
  };
  const s = await createServices(loadConfig(env));
  try {
    const setupCode = async () => (await databaseFindings(s)).map((f) => f.code).filter((c) => c.startsWith('setup-'));
    assert.deepEqual(await setupCode(), ['setup-not-started']);
    // Another instance's data directory holds the token file; only the database is shared.
    const elsewhere = path.join(dir, 'other-data');
    fs.mkdirSync(elsewhere, { mode: 0o700 });
    assert.ok(await issueSetupToken(s.store, elsewhere));
    assert.equal(fs.existsSync(path.join(env.KARTEI_DATA_DIR, 'setup-token')), false);
    assert.deepEqual(await setupCode(), ['setup-pending']);
    // Expired: nobody holds a usable link.
    await s.store.db
      .updateTable('setup_token')
      .set({ expires_at: new Date(Date.now() - 1000).toISOString() })
      .execute();
    assert.deepEqual(await setupCode(), ['setup-not-started']);
  } finally {
    await s.close();
  }
});
