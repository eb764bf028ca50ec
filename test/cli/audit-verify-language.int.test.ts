// Issue 19: s23-german-cli — `kartei audit verify` in the operator's language: a whole chain's counts
// grouped as the language groups them (1.234 in German, 1,234 in English), and a broken chain's problem
// said in German, while the problem string the verifier returns (and the witness keeps) stays English.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import pg from 'pg';
import { inTenantTransaction } from '../../src/db/connect.ts';
import { DEPLOYMENT_CHAIN } from '../../src/db/schema.ts';
import { verifyAudit } from '../../src/audit/verify.ts';
import { AUDIT_PROBLEMS_DE } from '../../src/cli/audit-problems.ts';
import { auditVerifyCli } from '../helpers/kartei-cli.ts';
import { DIALECT, startHarness, type Harness } from '../helpers/harness.ts';

/** More than a thousand events, so that the count is grouped. */
const EVENTS = 1234;

let h: Harness;
before(async () => {
  h = await startHarness();
  await inTenantTransaction(h.services.store, DEPLOYMENT_CHAIN, async (tx) => {
    for (let i = 0; i < EVENTS; i++)
      await h.services.audit.append(tx, {
        tenantId: DEPLOYMENT_CHAIN,
        actorId: null,
        action: 'test.count',
        resourceType: 'test',
        resourceId: String(i),
        outcome: 'allowed',
      });
  });
  await h.services.audit.checkpointAll();
});
after(() => h.close());

const verifyCli = (lang?: 'en') => auditVerifyCli(h, lang);

/** Runs `q` as the attacker who holds the database: the append-only guards switched off first. */
async function asAttacker(q: string, ...params: unknown[]) {
  if (DIALECT === 'sqlite') {
    const db = new Database(h.services.store.file!);
    try {
      db.pragma('busy_timeout = 5000');
      db.exec('DROP TRIGGER audit_events_no_update');
      db.prepare(q).run(...params);
    } finally {
      db.close();
    }
    return;
  }
  const c = new pg.Client({ connectionString: h.config.databaseAdminUrl });
  await c.connect();
  try {
    await c.query('SET session_replication_role = replica');
    let i = 0;
    await c.query(
      q.replace(/\?/g, () => `$${++i}`),
      params,
    );
  } finally {
    await c.end();
  }
}

test('a whole chain: its count grouped as German groups it (1.234), as English does with KARTEI_LANG=en (1,234)', async () => {
  const r = await verifyAudit(h.services.store, h.services.signer);
  assert.ok(r.ok && r.count >= EVENTS, JSON.stringify(r));
  const de = verifyCli();
  assert.equal(de.status, 0, de.stdout + de.stderr);
  assert.match(de.stdout, /^Protokollkette in Ordnung: \d{1,3}(\.\d{3})+ Ereignisse in \d+,\d s geprüft/m);
  // Read back as German writes it: the dots group, and the number is the verifier's.
  const german = /in Ordnung: ([\d.]+) Ereignisse/.exec(de.stdout)![1]!;
  assert.equal(Number(german.replaceAll('.', '')), r.count);
  const en = verifyCli('en');
  assert.equal(en.status, 0, en.stdout + en.stderr);
  assert.match(en.stdout, /^audit chain OK: \d{1,3}(,\d{3})+ events verified/m);
  const english = /OK: ([\d,]+) events/.exec(en.stdout)![1]!;
  assert.equal(Number(english.replaceAll(',', '')), r.count);
});

test("a broken chain: its problem said in German, in English with KARTEI_LANG=en; the verifier's problem stays English", async () => {
  const seq = 700;
  await asAttacker(
    'UPDATE audit_events SET action = ? WHERE tenant_id = ? AND seq = ?',
    'test.forged',
    DEPLOYMENT_CHAIN,
    seq,
  );
  const r = await verifyAudit(h.services.store, h.services.signer);
  assert.ok(!r.ok && r.seq === seq, JSON.stringify(r));
  assert.ok(AUDIT_PROBLEMS_DE[r.problem], `no German for "${r.problem}"`);
  assert.match(r.problem, /^[a-z ,:]+$/, 'the stored problem string is English, as before');

  const de = verifyCli();
  assert.equal(de.status, 1, de.stdout + de.stderr);
  assert.equal(
    de.stdout.trim(),
    `Protokollkette VERLETZT: Kette ${DEPLOYMENT_CHAIN}, erste fehlerhafte Nummer ${seq}: ${AUDIT_PROBLEMS_DE[r.problem]}`,
  );
  assert.ok(!de.stdout.includes(r.problem), de.stdout);
  const en = verifyCli('en');
  assert.equal(en.status, 1, en.stdout + en.stderr);
  assert.match(en.stdout, new RegExp(`first bad sequence number ${seq}: ${r.problem}$`, 'm'));
});
