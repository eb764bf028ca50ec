// Access reports (issue 14): the DPO's search for a person's files across all
// departments (DPO only, audited without what was typed, answering no contents),
// one report over two departments' files in words with the ground of each access,
// folding, a device by its name, the head's report from the file, and the PDF letter.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { inTenantTransaction } from '../../src/db/connect.ts';
import type { DimseListener } from '../../src/imaging/dimse/listener.ts';
import type { AccessLine, AccessReportAnswer } from '../../src/contract/audit.ts';
import {
  startHarness,
  setUpTenant,
  samplePerson,
  Client,
  type Harness,
  type Tenant,
  type AccessSpec,
} from '../helpers/harness.ts';
import { makeInstance } from '../helpers/dicom-files.ts';
import { pdfText } from '../helpers/pdf-text.ts';

let h: Harness;
let t: Tenant;
let dimse: DimseListener;
type Named = Client & { id: string; displayName: string };
let dpo: Named, infClerk: Named, infHead: Named, tbClerk: Named, tbHead: Named, spdiPhysician: Named, spdiHead: Named;
let P1: string, P2: string;
const SHARE_PURPOSE = 'Kontaktpersonenermittlung Kita Sonnenschein';
const GLASS_REASON = 'Bewusstlos eingeliefert, Vorerkrankungen dringend klären';
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

/** Display names are the harness's ("Staff 7"); the lines name them. */
const named = (spec: AccessSpec): Promise<Named> => t.user(spec);

const ok = (r: { status: number; body: unknown }, status = 200) => {
  assert.equal(r.status, status, JSON.stringify(r.body));
  return r.body as any;
};

before(async () => {
  h = await startHarness({ dicom: true });
  t = await setUpTenant(h, ['INF', 'TB', 'SPDI']);
  const d = t.departments;
  dpo = await named({ tenantRoles: ['dpo'] });
  infHead = await named({ memberships: [{ departmentId: d.INF!, role: 'head' }] });
  infClerk = await named({ memberships: [{ departmentId: d.INF!, role: 'clerk' }] });
  tbHead = await named({ memberships: [{ departmentId: d.TB!, role: 'head' }] });
  tbClerk = await named({ memberships: [{ departmentId: d.TB!, role: 'clerk' }] });
  spdiHead = await named({ memberships: [{ departmentId: d.SPDI!, role: 'head' }] });
  spdiPhysician = await named({ memberships: [{ departmentId: d.SPDI!, role: 'physician' }] });
  P1 = ok(await infClerk.post('/api/persons', samplePerson(d.INF!)), 201).id;
  P2 = ok(await tbClerk.post('/api/persons', samplePerson(d.TB!)), 201).id;
  // The same name, another birth date: not found.
  ok(await spdiPhysician.post('/api/persons', { ...samplePerson(d.SPDI!), birthDate: '1970-01-01' }), 201).id;
  dimse = h.dicom!;
});
after(async () => {
  await h.close();
});

async function events(action: string) {
  return inTenantTransaction(h.services.store, t.tenantId, (tx) =>
    tx
      .selectFrom('audit_events')
      .selectAll()
      .where('tenant_id', '=', t.tenantId)
      .where('action', '=', action)
      .orderBy('seq')
      .execute(),
  );
}

test("the DPO finds a person's files in every department by family name and birth date: only what identifies them, audited without what was typed", async () => {
  const before = (await events('audit.person-search')).length;
  const hits = ok(
    await dpo.post('/api/access-reports/person-search', { familyName: 'quastenberg', birthDate: '1961-04-17' }),
  );
  assert.deepEqual(
    hits.map((x: { id: string }) => x.id).sort(),
    [P1, P2].sort(),
    'both departments, not the other birth date',
  );
  for (const hit of hits)
    assert.deepEqual(Object.keys(hit).sort(), [
      'birthDate',
      'departmentId',
      'departmentName',
      'familyName',
      'givenName',
      'id',
    ]);
  assert.deepEqual(hits.map((x: { departmentName: string }) => x.departmentName).sort(), [
    'Abteilung INF',
    'Abteilung TB',
  ]);
  assert.ok(!JSON.stringify(hits).includes('Lindenallee'), 'no address, no contents');
  assert.equal(
    ok(await dpo.post('/api/access-reports/person-search', { familyName: 'Quastenburg', birthDate: '1961-04-17' }))
      .length,
    2,
    'as it sounds',
  );

  const audited = (await events('audit.person-search')).slice(before);
  const main = audited.filter((e) => e.person_id === null);
  assert.equal(main.length, 2);
  assert.deepEqual(JSON.parse(main[0]!.detail!), { results: 2 });
  assert.deepEqual(
    audited
      .filter((e) => e.person_id)
      .map((e) => e.person_id)
      .sort(),
    [P1, P1, P2, P2].sort(),
    'each file shown has its event',
  );
  const stored = JSON.stringify(audited);
  for (const typed of ['uastenberg', 'wastenberg', '1961-04-17'])
    assert.ok(!stored.toLowerCase().includes(typed.toLowerCase()), `no ${typed} in the audit`);
  // The year alone, not as four digits inside the hex ids and hashes an audit row is full of.
  assert.ok(!/(?<![0-9a-f-])1961(?![0-9a-f-])/.test(stored.toLowerCase()), 'no 1961 in the audit');
  assert.ok(audited.every((e) => e.reason_enc === null));
});

test("the search and the merged report are the DPO's alone: heads, clerks, physicians, admins 403, a DPO token 403", async () => {
  const body = { familyName: 'Quastenberg', birthDate: '1961-04-17' };
  for (const who of [infClerk, infHead, spdiPhysician, t.admin]) {
    assert.equal((await who.post('/api/access-reports/person-search', body)).status, 403);
    assert.equal((await who.get(`/api/access-reports?persons=${P1}`)).status, 403);
    assert.equal((await who.get(`/api/access-reports/letter.pdf?persons=${P1}`)).status, 403);
  }
  const denied = (await events('audit.person-search')).filter((e) => e.outcome === 'denied');
  assert.ok(
    denied.some((e) => e.actor_id === infHead.id),
    'refusals are on the record',
  );
  const token = ok(
    await dpo.post('/api/auth/tokens', { name: 'Auskunft', scopes: ['audit:read'], expiresInDays: 1 }),
    201,
  ).token as string;
  const bearer = new Client(h);
  const search = await bearer.call('POST', '/api/access-reports/person-search', body, {
    authorization: `Bearer ${token}`,
  });
  assert.equal(search.status, 403, 'finding persons by name is done in a session');
  assert.equal(search.body.code, 'token-scope');
  assert.equal(
    (await dpo.get(`/api/access-reports?persons=${P1},00000000-0000-4000-8000-000000000000`)).status,
    404,
    'an unknown file',
  );
});

test("one report over two departments' files: who, what, on what ground — in words, folded, denied attempts said so, an undone change left out", async () => {
  // INF's clerk opens the file and reads two entries (one of them twice): one visit.
  const r1 = ok(
    await infClerk.post(`/api/persons/${P1}/records`, {
      type: 'note',
      sensitivity: 'normal',
      content: { text: 'Kontakt am Montag' },
    }),
    201,
  ).id;
  const r2 = ok(
    await infClerk.post(`/api/persons/${P1}/records`, {
      type: 'note',
      sensitivity: 'normal',
      content: { text: 'Rückruf vereinbart' },
    }),
    201,
  ).id;
  ok(await infClerk.get(`/api/persons/${P1}`));
  ok(await infClerk.get(`/api/persons/${P1}/records`));
  for (const r of [r1, r2, r1]) ok(await infClerk.get(`/api/records/${r}`));
  // A change on a stale version is undone: nothing was changed.
  assert.equal((await infClerk.patch(`/api/persons/${P1}`, { givenName: 'Hanne', version: 99 })).status, 409);
  // INF's head shares the file with TB, whose clerk opens it.
  const until = new Date(Date.now() + 86_400_000).toISOString();
  ok(
    await infHead.post(`/api/persons/${P1}/shares`, { departmentId: t.departments.TB, purpose: SHARE_PURPOSE, until }),
    201,
  );
  ok(await tbClerk.get(`/api/persons/${P1}`));
  // SPDI's physician is refused P1 and breaks the glass on TB's file.
  assert.equal((await spdiPhysician.get(`/api/persons/${P1}`)).status, 404);
  ok(await spdiPhysician.post(`/api/persons/${P2}/break-glass`, { reason: GLASS_REASON }));
  ok(await spdiPhysician.get(`/api/persons/${P2}`));

  const report: AccessReportAnswer = ok(await dpo.get(`/api/access-reports?persons=${P1},${P2}`));
  assert.equal(report.office, 'Gesundheitsamt Musterstadt');
  assert.deepEqual(report.persons.map((p) => p.department).sort(), ['Abteilung INF', 'Abteilung TB']);
  assert.ok(report.persons.every((p) => p.familyName === 'Quastenberg' && p.birthDate === '1961-04-17'));
  assert.ok(!UUID.test(JSON.stringify(report)), 'no ids in the report');
  const find = (f: (l: AccessLine) => boolean, what: string) => {
    const found = report.lines.filter(f);
    assert.equal(found.length, 1, `${what}: ${JSON.stringify(report.lines, null, 1)}`);
    return found[0]!;
  };
  const by = (name: string) => (l: AccessLine) => l.actor.name === name;

  const read = find((l) => by(infClerk.displayName)(l) && l.act === 'records.read', 'entries read');
  assert.equal(read.count, 2, 'two entries, the one read twice counted once');
  assert.deepEqual(read.actor, {
    kind: 'user',
    name: infClerk.displayName,
    role: 'clerk',
    department: 'Abteilung INF',
  });
  assert.deepEqual(read.ground, { kind: 'department', department: 'Abteilung INF' });
  assert.equal(read.fileDepartment, 'Abteilung INF');
  const opened = find(
    (l) => by(infClerk.displayName)(l) && l.act === 'file.opened',
    'opened once: person and record list one visit',
  );
  assert.equal(opened.count, 1);
  assert.equal(report.leftOut, 1, 'the undone change is left out');
  assert.ok(!report.lines.some((l) => l.act === 'file.updated'));

  const shared = find(
    (l) => by(tbClerk.displayName)(l) && l.act === 'file.opened' && l.fileDepartment === 'Abteilung INF',
    'opened through the share',
  );
  assert.deepEqual(shared.ground, { kind: 'share', department: 'Abteilung TB', text: SHARE_PURPOSE });
  assert.deepEqual(shared.actor, {
    kind: 'user',
    name: tbClerk.displayName,
    role: 'clerk',
    department: 'Abteilung TB',
  });

  const refused = find((l) => by(spdiPhysician.displayName)(l) && l.outcome === 'denied', 'refused');
  assert.equal(refused.act, 'file.opened');
  assert.equal(refused.fileDepartment, 'Abteilung INF');
  assert.equal(refused.ground, null);
  const glass = find((l) => by(spdiPhysician.displayName)(l) && l.act === 'emergency.opened', 'break-glass');
  assert.deepEqual(glass.ground, { kind: 'emergency', text: GLASS_REASON });
  const afterGlass = find(
    (l) => by(spdiPhysician.displayName)(l) && l.act === 'file.opened' && l.outcome === 'allowed',
    'opened in the emergency',
  );
  assert.deepEqual(afterGlass.ground, { kind: 'emergency', text: GLASS_REASON });
  assert.equal(afterGlass.fileDepartment, 'Abteilung TB');
  assert.ok(
    report.lines.every((l, i) => i === 0 || report.lines[i - 1]!.at <= l.at),
    'oldest first',
  );

  // Reading the report is on the record, on both files.
  const read2 = (await events('audit.access-report')).filter((e) => e.person_id);
  assert.deepEqual([...new Set(read2.map((e) => e.person_id))].sort(), [P1, P2].sort());
  const again: AccessReportAnswer = ok(await dpo.get(`/api/access-reports?persons=${P1}`));
  assert.ok(
    again.lines.some((l) => l.act === 'report.viewed' && l.actor.role === 'dpo' && l.ground?.kind === 'dpo'),
    "the DPO's own reading shows",
  );
});

test("a head reads the report of the department's file from the file, and no other", async () => {
  const report: AccessReportAnswer = ok(await infHead.get(`/api/persons/${P1}/access-report`));
  assert.deepEqual(
    report.persons.map((p) => p.department),
    ['Abteilung INF'],
  );
  assert.ok(
    report.lines.length > 0 && report.lines.every((l) => l.fileDepartment === 'Abteilung INF'),
    'only this file',
  );
  assert.equal((await infHead.get(`/api/persons/${P2}/access-report`)).status, 404, "another department's file");
  assert.equal((await spdiHead.get(`/api/persons/${P1}/access-report`)).status, 404);
  assert.equal(
    (await tbHead.get(`/api/persons/${P1}/access-report`)).status,
    403,
    'a share lets TB read the file, not its report',
  );
  assert.equal((await infClerk.get(`/api/persons/${P1}/access-report`)).status, 403, 'a clerk of the department: no');
  assert.equal((await infClerk.get(`/api/persons/${P1}/access-report.pdf`)).status, 403);
  const own = await events('person.access-report');
  assert.ok(
    own.some(
      (e) =>
        e.actor_id === infHead.id &&
        e.person_id === P1 &&
        e.outcome === 'allowed' &&
        JSON.parse(e.detail!).format === 'screen',
    ),
  );
});

function filesUnder(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}

test('the PDF letter: letterhead, heading with name and birth date, the lines in words; never cached, never written to disk', async () => {
  const files = filesUnder(h.config.dataDir);
  const r = await dpo.get(`/api/access-reports/letter.pdf?persons=${P1},${P2}`);
  assert.equal(r.status, 200, r.raw.toString());
  assert.equal(r.headers['content-type'], 'application/pdf');
  assert.equal(r.headers['cache-control'], 'no-store');
  assert.match(String(r.headers['content-disposition']), /^attachment; filename="Auskunft-Zugriffe\.pdf"$/);
  assert.equal(r.raw.subarray(0, 5).toString(), '%PDF-');
  const text = pdfText(r.raw).join('\n');
  assert.match(text, /^Gesundheitsamt Musterstadt/);
  assert.match(
    text.replace(/\n/g, ''),
    /Auskunft nach Art\. 15 DSGVO über Zugriffe auf die Daten von Hannelore Quastenberg, geb\. 17\.04\.1961/,
  );
  assert.match(text, new RegExp(`${infClerk.displayName} \\(Sachbearbeitung, Abteilung INF\\) hat 2 Einträge gelesen`));
  assert.match(
    text,
    new RegExp(
      `${spdiPhysician.displayName} \\(Ärztlicher Dienst, Abteilung SPDI\\) wollte die Akte öffnen – abgewiesen`,
    ),
  );
  assert.match(text.replace(/\n/g, ''), new RegExp(`Zweck: „${SHARE_PURPOSE}“`));
  assert.match(text, /\d{2}\.\d{2}\.\d{4}/, 'days as 04.12.2026');
  assert.ok(!UUID.test(text) && !/person\.read|record\.read/.test(text), 'no ids, no codes');
  assert.deepEqual(
    filesUnder(h.config.dataDir).filter((f) => !/\.(db|sqlite)(-wal|-shm|-journal)?$/.test(f)),
    files.filter((f) => !/\.(db|sqlite)(-wal|-shm|-journal)?$/.test(f)),
    'no file left behind',
  );

  const en = await infHead.get(`/api/persons/${P1}/access-report.pdf?lang=en`);
  assert.equal(en.status, 200);
  const enText = pdfText(en.raw).join('\n');
  assert.match(
    enText.replace(/\n/g, ''),
    /Information under Art\. 15 GDPR about accesses to the data of Hannelore Quastenberg/,
  );
  assert.match(enText, new RegExp(`${infClerk.displayName} \\(case worker, Abteilung INF\\) read 2 entries`));
  assert.ok(
    (await events('audit.access-report')).some((e) => e.person_id === P2 && e.detail === null),
    'each file of the letter has its event',
  );
  assert.ok(
    (await events('audit.access-report')).some(
      (e) => e.person_id === null && e.outcome === 'allowed' && JSON.parse(e.detail!).format === 'pdf',
    ),
  );
});

function storescu(file: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(
      'storescu',
      ['-aet', 'CT_TB', '-aec', 'KARTEI', '127.0.0.1', String(dimse.port), file],
      { timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? 1 : 0, out: stdout + stderr }),
    );
  });
}

test('a device is named by its name; images viewed are counted as images, the details of them not', async () => {
  ok(
    await t.admin.post('/api/admin/devices', {
      departmentId: t.departments.TB,
      aeTitle: 'CT_TB',
      permissions: ['store'],
      host: '127.0.0.1',
    }),
    201,
  );
  const sent = makeInstance({
    patientName: 'Quastenberg^Hannelore',
    birthDate: '19610417',
    rows: 16,
    columns: 16,
    undefinedLengthSequences: false,
  });
  const file = path.join(h.dir, 'report-ct.dcm');
  fs.writeFileSync(file, sent.file);
  const stored = await storescu(file);
  assert.equal(stored.code, 0, stored.out);
  const url = `/dicom-web/studies/${sent.studyInstanceUid}/series/${sent.seriesInstanceUid}/instances/${sent.sopInstanceUid}`;
  ok(await tbClerk.get(`${url}/metadata`));
  for (let i = 0; i < 3; i++) {
    const frame = await tbClerk.call('GET', `${url}/frames/1`, undefined, {
      accept: 'multipart/related; type="application/octet-stream"',
    });
    assert.equal(frame.status, 200);
  }
  const report: AccessReportAnswer = ok(await dpo.get(`/api/access-reports?persons=${P2}`));
  const device = report.lines.find((l) => l.actor.kind === 'device');
  assert.deepEqual(device && { actor: device.actor, act: device.act, count: device.count, ground: device.ground }, {
    actor: { kind: 'device', name: 'CT_TB', role: null, department: 'Abteilung TB' },
    act: 'images.stored',
    count: 1,
    ground: { kind: 'device', department: 'Abteilung TB' },
  });
  const viewed = report.lines.filter((l) => l.actor.name === tbClerk.displayName && l.act === 'images.viewed');
  assert.deepEqual(
    viewed.map((l) => l.count),
    [3],
    'three frames, one line; the metadata is no image',
  );
  assert.ok(!UUID.test(JSON.stringify(report)));
});
