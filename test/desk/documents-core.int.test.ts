// The documents' core (issue 17): a generated PDF stored through the DocumentSink, a second one of the
// same template (and record) as a new version, listed and read back byte for byte; another department's
// file hidden; nothing of the PDF's text or its name readable in the database or the data directory.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import type { Principal } from '../../src/access/policy.ts';
import { inTenantTransaction, type Tx } from '../../src/db/connect.ts';
import {
  DIALECT,
  setUpTenant,
  startHarness,
  type Account,
  type Client,
  type Harness,
  type Tenant,
} from '../helpers/harness.ts';
import { storedObjects } from '../helpers/stored-objects.ts';
import { testPdf } from '../helpers/documents.ts';

let h: Harness;
let t: Tenant;
let INF: string;
let TB: string;
let physician: Client & Account;
let tbPhysician: Client & Account;
let personId: string;

const as = (
  u: { id: string },
  departmentId: string,
  role: 'clerk' | 'physician' | 'head' = 'physician',
): Principal => ({
  userId: u.id,
  tenantId: t.tenantId,
  tenantRoles: [],
  memberships: [{ departmentId, role }],
});

before(async () => {
  h = await startHarness();
  t = await setUpTenant(h, ['INF', 'TB']);
  INF = t.departments.INF!;
  TB = t.departments.TB!;
  physician = await t.user({ memberships: [{ departmentId: INF, role: 'physician' }] });
  tbPhysician = await t.user({ memberships: [{ departmentId: TB, role: 'physician' }] });
  const p = await physician.post('/api/persons', {
    departmentId: INF,
    familyName: 'Dokumentenfeld',
    givenName: 'Hannelore',
    birthDate: '1961-04-17',
  });
  assert.equal(p.status, 201, JSON.stringify(p.body));
  personId = p.body.id;
});
after(() => h.close());

const generate = (
  text: string,
  templateId = 'tpl-invitation',
  recordId?: string,
  fileName = 'Einladung-Dokumentenfeld.pdf',
) =>
  h.services.gate.run(as(physician, INF), 'document.add', { kind: 'person', personId }, (ctx) =>
    h.services.documentSink!.addGenerated(ctx, {
      personId,
      title: `Einladung ${text}`,
      fileName,
      mediaType: 'application/pdf',
      bytes: testPdf(text),
      template: { id: templateId, version: 3 },
      ...(recordId ? { recordId } : {}),
    }),
  );

async function readAll(body: AsyncIterable<Buffer>) {
  const parts: Buffer[] = [];
  for await (const b of body) parts.push(b);
  return Buffer.concat(parts);
}

test('a generated PDF is stored, a second of the same template is its next version, and both read back', async () => {
  const first = await generate('Roentgenzauber Erstfassung');
  assert.equal(first.version, 1);
  const second = await generate('Roentgenzauber Zweitfassung');
  assert.deepEqual(second, { documentId: first.documentId, version: 2 });
  const other = await generate('Bescheinigung', 'tpl-certificate');
  assert.notEqual(other.documentId, first.documentId);

  const list = await h.services.gate.run(as(physician, INF), 'document.list', { kind: 'person', personId }, (ctx) =>
    h.services.documents.list(ctx),
  );
  const mine = list.find((d) => d.id === first.documentId)!;
  assert.equal(list.length, 2);
  assert.equal(mine.version, 2);
  assert.equal(mine.kind, 'generated');
  assert.equal(mine.title, 'Einladung Roentgenzauber Zweitfassung');
  assert.equal(mine.fileName, 'Einladung-Dokumentenfeld.pdf');
  assert.equal(mine.mediaType, 'application/pdf');
  assert.equal(mine.templateId, 'tpl-invitation');
  assert.equal(mine.templateVersion, 3);
  assert.equal(mine.createdByName, physician.displayName);

  for (const [version, text] of [
    [1, 'Roentgenzauber Erstfassung'],
    [2, 'Roentgenzauber Zweitfassung'],
  ] as const) {
    const got = await h.services.gate.run(
      as(physician, INF),
      'document.read',
      { kind: 'document', documentId: first.documentId },
      (ctx) => h.services.documents.read(ctx, first.documentId, version),
    );
    assert.equal(got.version, version);
    assert.deepEqual(await readAll(got.body), testPdf(text));
  }
});

test('parallel generations of one template for one file: one document, each its own version', async () => {
  const made = await Promise.all([1, 2, 3].map((i) => generate(`Gleichzeitig ${i}`, 'tpl-parallel')));
  assert.equal(new Set(made.map((m) => m.documentId)).size, 1);
  assert.deepEqual(made.map((m) => m.version).sort(), [1, 2, 3]);
});

test('the same template for another record of the file is another document', async () => {
  const rec = await physician.post(`/api/persons/${personId}/records`, {
    type: 'note',
    sensitivity: 'normal',
    content: { text: 'Anlass' },
  });
  assert.equal(rec.status, 201, JSON.stringify(rec.body));
  const a = await generate('Zum Eintrag', 'tpl-invitation', rec.body.id);
  const b = await generate('Zum Eintrag wieder', 'tpl-invitation', rec.body.id);
  assert.equal(b.documentId, a.documentId);
  assert.equal(b.version, 2);
  const plain = await generate('Ohne Eintrag', 'tpl-invitation');
  assert.notEqual(plain.documentId, a.documentId);
});

test("another department's file and document are not there (404), and the refusal is audited", async () => {
  const { documentId } = await generate('Fremdzugriff');
  await assert.rejects(
    h.services.gate.run(as(tbPhysician, TB), 'document.list', { kind: 'person', personId }, (ctx) =>
      h.services.documents.list(ctx),
    ),
    (e: { code?: string }) => e.code === 'not-found',
  );
  await assert.rejects(
    h.services.gate.run(as(tbPhysician, TB), 'document.read', { kind: 'document', documentId }, (ctx) =>
      h.services.documents.read(ctx, documentId),
    ),
    (e: { code?: string }) => e.code === 'not-found',
  );
  const events = (work: (tx: Tx) => Promise<unknown>) => inTenantTransaction(h.services.store, t.tenantId, work);
  const denied = (await events((tx) =>
    tx
      .selectFrom('audit_events')
      .select(['action', 'resource_type'])
      .where('actor_id', '=', tbPhysician.id)
      .where('outcome', '=', 'denied')
      .orderBy('seq')
      .execute(),
  )) as { action: string; resource_type: string }[];
  assert.deepEqual(
    denied.map((e) => `${e.action} ${e.resource_type}`),
    ['document.list person', 'document.read document'],
  );
  // The allowed generation is on the record with its template and version, never a name.
  const added = (await events((tx) =>
    tx
      .selectFrom('audit_events')
      .select('detail')
      .where('action', '=', 'document.add')
      .where('resource_id', '=', personId)
      .orderBy('seq', 'desc')
      .executeTakeFirstOrThrow(),
  )) as { detail: string | null };
  const detail = JSON.parse(added.detail!);
  assert.equal(detail.documentId, documentId);
  assert.equal(detail.templateId, 'tpl-invitation');
  assert.equal(detail.templateVersion, 3);
});

test('at rest: neither the PDF text nor its file name is in the database or the data directory', async () => {
  const secrets = ['Lungenschattenbefund Quastenkamp', 'Quastenkamp-Geheimbrief.pdf'];
  await generate(secrets[0]!, 'tpl-secret', undefined, secrets[1]);
  assert.ok(testPdf(secrets[0]!).includes(Buffer.from(secrets[0]!)), 'the control: the PDF holds its text in clear');
  if (DIALECT === 'sqlite') await sql`PRAGMA wal_checkpoint(FULL)`.execute(h.services.store.db);
  const walk = (dir: string): string[] =>
    fs
      .readdirSync(dir, { withFileTypes: true })
      .flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
  const files = walk(h.config.dataDir);
  // Issue 19: storage-db — the documents' sealed bytes, in files or in the database's rows.
  const objects = await storedObjects(h, 'documents');
  assert.ok(objects.length > 0);
  for (const [f, bytes] of [
    ...files.map((f) => [f, fs.readFileSync(f)] as const),
    ...objects.map((o) => [o.path, o.bytes] as const),
  ]) {
    for (const s of secrets)
      for (const enc of ['utf8', 'utf16le'] as const) assert.ok(!bytes.includes(Buffer.from(s, enc)), `${s} in ${f}`);
  }
});
