// Encryption at rest with images and documents in PostgreSQL (issue 19, storage-db): after a C-STORE
// from a modality, a STOW-RS upload and a document's upload, the database (read as its owner, past the
// walls) holds none of their personal values in any text, JSON or bytea column of any table, in UTF-8
// or UTF-16LE, in any letter case. A control value stored in clear (the office's name) shows that the
// scan finds what is there. PostgreSQL only (with SQLite, at-rest.int.test.ts scans the files).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import pg from 'pg';
import { DIALECT, samplePerson, setUpTenant, startHarness, type Harness, type Tenant } from '../helpers/harness.ts';
import { makeInstance } from '../helpers/dicom-files.ts';
import { testPdf } from '../helpers/documents.ts';

const skip = DIALECT !== 'postgres' && 'PostgreSQL only';

let h: Harness;
let t: Tenant;

before(async () => {
  if (skip) return;
  h = await startHarness({ dicom: true });
  t = await setUpTenant(h, ['TB']);
});
after(async () => {
  await h?.close();
});

/** ASCII letters to lower case, byte by byte: the same folding for haystack and needle. */
function fold(buf: Buffer): Buffer {
  const out = Buffer.from(buf);
  for (let i = 0; i < out.length; i++) if (out[i]! >= 0x41 && out[i]! <= 0x5a) out[i]! |= 0x20;
  return out;
}
const needles = (s: string) => [fold(Buffer.from(s, 'utf8')), fold(Buffer.from(s, 'utf16le'))];

/** Every value of every text, JSON and bytea column of the public schema, as bytes, named by table.column. */
async function everyValue(): Promise<{ where: string; bytes: Buffer }[]> {
  const client = new pg.Client({ connectionString: h.installation.database.databaseAdminUrl });
  await client.connect();
  try {
    const cols = await client.query<{ table_name: string; column_name: string; data_type: string }>(
      `select c.table_name, c.column_name, c.data_type from information_schema.columns c
       join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name
       where c.table_schema = 'public' and t.table_type = 'BASE TABLE'
         and c.data_type in ('bytea', 'text', 'character varying', 'character', 'json', 'jsonb', 'ARRAY')`,
    );
    const out: { where: string; bytes: Buffer }[] = [];
    for (const c of cols.rows) {
      const col = `"${c.column_name}"`;
      const expr = c.data_type === 'bytea' ? col : `${col}::text`;
      const rows = await client.query({ text: `select ${expr} as v from "${c.table_name}"`, rowMode: 'array' });
      for (const [v] of rows.rows as [Buffer | string | null][])
        if (v !== null)
          out.push({ where: `${c.table_name}.${c.column_name}`, bytes: fold(Buffer.isBuffer(v) ? v : Buffer.from(v)) });
    }
    return out;
  } finally {
    await client.end();
  }
}

test('after a C-STORE, a STOW-RS and a document upload the database holds none of their personal values', {
  skip,
  timeout: 120_000,
}, async () => {
  const device = await t.admin.post('/api/admin/devices', {
    aeTitle: 'MODALITY',
    departmentId: t.departments.TB,
    permissions: ['store'],
    host: '127.0.0.1',
  });
  assert.equal(device.status, 201, JSON.stringify(device.body));
  const clerk = await t.user({ memberships: [{ departmentId: t.departments.TB!, role: 'clerk' }] });
  const personId = (await clerk.post('/api/persons', samplePerson(t.departments.TB!, 'Quastenberg'))).body.id;

  const viaCStore = makeInstance({
    patientName: 'Zwetschgenfeld^Adelheid',
    patientId: 'PIDZWX4471',
    birthDate: '19370912',
    studyDescription: 'Kniespiegelungxq',
    rows: 16,
    columns: 16,
    undefinedLengthSequences: false,
  });
  const file = path.join(h.dir, 'scan.dcm');
  fs.writeFileSync(file, viaCStore.file);
  await new Promise<void>((resolve, reject) =>
    execFile(
      'storescu',
      ['-aet', 'MODALITY', '-aec', 'KARTEI', '127.0.0.1', String(h.dicom!.port), file],
      (err, stdout, stderr) => (err ? reject(new Error(stdout + stderr)) : resolve()),
    ),
  );

  const viaStow = makeInstance({
    patientName: 'Mirabellenhain^Gerlinde',
    patientId: 'PIDMRB8812',
    studyDescription: 'Schulterbefundxq',
    rows: 16,
    columns: 16,
    undefinedLengthSequences: false,
  });
  const boundary = 'kartei-scan';
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`),
    viaStow.file,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  const stow = await clerk.call('POST', '/dicom-web/studies', body, {
    'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}`,
  });
  assert.equal(stow.status, 200, JSON.stringify(stow.body));

  const doc = await clerk.call('POST', `/api/persons/${personId}/documents`, testPdf('Ohrenklappenbefundxq'), {
    'content-type': 'application/octet-stream',
    'x-file-name': encodeURIComponent('Holunderweg-Gutachten.pdf'),
  });
  assert.equal(doc.status, 201, JSON.stringify(doc.body));

  const values = await everyValue();
  const where = (s: string) => {
    const ns = needles(s);
    return [...new Set(values.filter((v) => ns.some((n) => v.bytes.includes(n))).map((v) => v.where))];
  };
  // The office's name is kept in clear (tenants.name): the scan finds it.
  assert.ok(where('Gesundheitsamt Musterstadt').includes('tenants.name'), 'the control is found');
  const found = Object.fromEntries(
    [
      'Zwetschgenfeld',
      'Adelheid',
      'PIDZWX4471',
      'Kniespiegelungxq',
      'Mirabellenhain',
      'Gerlinde',
      'PIDMRB8812',
      'Schulterbefundxq',
      'Hausarzt',
      'Ohrenklappenbefundxq',
      'Holunderweg',
      'Quastenberg',
    ]
      .map((s) => [s, where(s)] as const)
      .filter(([, w]) => w.length > 0),
  );
  assert.deepEqual(found, {}, 'personal values stored in clear, by column');
  // The images and the document are in the rows (not somewhere the scan did not look).
  const areas = values.filter((v) => v.where === 'sealed_objects.area').map((v) => v.bytes.toString());
  assert.equal(areas.filter((a) => a === 'images').length, 2, 'both images are in the rows');
  assert.equal(areas.filter((a) => a === 'documents').length, 1, 'the document is in the rows');
  assert.ok(values.filter((v) => v.where === 'sealed_chunks.bytes').length >= 3, 'their chunks were scanned');
});
