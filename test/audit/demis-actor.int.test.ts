// The DEMIS connection in the audit screens (issue 16): events of its own principal (`demis:<departmentId>`,
// a notification's new version arriving for a linked file) and scheduled polls (no actor) are marked as
// the DEMIS connection in the audit log and the file's access log, and the Art. 15 access report names
// it "DEMIS-Anbindung (department)" on the ground of the electronic notification channel — never an
// unknown account.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { inTenantTransaction } from '../../src/db/connect.ts';
import { describeLine, lookupIn, NARRATIVE_DE } from '../../src/audit/narrative-text.ts';
import { importFromConnection } from '../../src/infection/notification-import.ts';
import { laboratoryBundle } from '../helpers/demis-bundles.ts';
import { startHarness, setUpTenant, samplePerson, type Client, type Harness, type Tenant } from '../helpers/harness.ts';

let h: Harness;
let t: Tenant;
let INF: string;
let clerk: Client & { id: string };
let head: Client & { id: string };

before(async () => {
  h = await startHarness();
  t = await setUpTenant(h);
  INF = t.departments.INF!;
  clerk = await t.user({ memberships: [{ departmentId: INF, role: 'clerk' }] });
  head = await t.user({ memberships: [{ departmentId: INF, role: 'head' }] });
});
after(() => h.close());

test('the DEMIS connection is named as such in the audit log, the access log and the access report', async () => {
  const personId = (await clerk.post('/api/persons', samplePerson(INF, 'Meldeweglerin'))).body.id as string;
  const notificationId = randomUUID();
  const first = await clerk.call(
    'POST',
    `/api/departments/${INF}/notifications`,
    JSON.stringify(laboratoryBundle({ notificationId, notifiedAt: '2026-12-01T10:00:00+01:00' })),
    { 'content-type': 'application/fhir+json' },
  );
  assert.equal(first.status, 201, JSON.stringify(first.body));
  const n = (await clerk.get(`/api/notifications/${first.body.notificationId}`)).body;
  assert.equal((await clerk.post(`/api/notifications/${n.id}/person`, { personId, version: n.version })).status, 200);
  // A second version arrives through DEMIS, imported as the connection: on the linked file's record.
  const raw = Buffer.from(
    JSON.stringify(
      laboratoryBundle({ notificationId, bundleId: randomUUID(), notifiedAt: '2026-12-02T10:00:00+01:00' }),
    ),
  );
  const imported = await importFromConnection(
    { gate: h.services.gate, keyring: h.services.keyring },
    t.tenantId,
    INF,
    raw,
    'application/fhir+json',
  );
  assert.equal((imported as { outcome?: string }).outcome, 'version', JSON.stringify(imported));
  // A poll on schedule has no actor.
  await inTenantTransaction(h.services.store, t.tenantId, (tx) =>
    h.services.audit.append(tx, {
      tenantId: t.tenantId,
      actorId: null,
      action: 'demis.poll',
      resourceType: 'demis-connection',
      resourceId: t.tenantId,
      departmentId: INF,
      outcome: 'allowed',
      detail: { trigger: 'schedule', imported: 0, pages: 0 },
    }),
  );

  const log = await head.get(`/api/persons/${personId}/access-log`);
  assert.equal(log.status, 200, JSON.stringify(log.body));
  const byDemis = (
    log.body as { actorId: string; action: string; actorService?: string; actorName: string | null }[]
  ).filter((e) => e.action === 'notification.import');
  assert.equal(byDemis.length, 1);
  assert.equal(byDemis[0]!.actorId, `demis:${INF}`);
  assert.equal(byDemis[0]!.actorService, 'demis');
  assert.equal(byDemis[0]!.actorName, null);
  // A person's own events are not marked.
  const linkedBy = (log.body as { action: string; actorService?: string }[]).find(
    (e) => e.action !== 'notification.import',
  );
  assert.equal(linkedBy?.actorService, undefined);

  const dpo = await t.user({ tenantRoles: ['dpo'] });
  const all = await dpo.get('/api/audit?action=demis.poll');
  assert.equal(all.status, 200, JSON.stringify(all.body));
  const polls = (all.body as { actorId: string | null; actorService?: string }[]).filter((e) => e.actorId === null);
  assert.ok(polls.length >= 1);
  for (const e of polls) assert.equal(e.actorService, 'demis');

  const report = await head.get(`/api/persons/${personId}/access-report`);
  assert.equal(report.status, 200, JSON.stringify(report.body));
  const line = (report.body.lines as { actor: { kind: string }; act: string }[]).find((l) => l.actor.kind === 'demis');
  assert.ok(line, JSON.stringify(report.body.lines));
  assert.equal(line.act, 'file.notified');
  const words = describeLine(line as never, lookupIn(NARRATIVE_DE));
  assert.equal(words.who, 'DEMIS-Anbindung (Abteilung INF)');
  assert.equal(words.what, 'hat eine Meldung nach IfSG zur Akte übermittelt');
  assert.match(words.ground, /Meldeweg nach IfSG an die Abteilung Abteilung INF/);
  assert.ok(
    !(report.body.lines as { actor: { kind: string } }[]).some((l) => l.actor.kind === 'unknown'),
    'no unknown account',
  );
});
