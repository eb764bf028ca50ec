// What the desk leaves in the server's log (issue 17), at debug level: an upload's file name and title, an
// imported CSV's cells (also of a refused file), a template's text, a task's title — none of it may appear,
// whether the request succeeds, is refused, or fails.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import ExcelJS from 'exceljs';
import { testPdf } from '../helpers/documents.ts';
import { setUpTenant, startHarness, type Harness, type Tenant } from '../helpers/harness.ts';

let h: Harness;
let t: Tenant;
const logLines: string[] = [];

before(async () => {
  const capture = new Writable({
    write(chunk, _enc, done) {
      logLines.push(String(chunk));
      done();
    },
  });
  h = await startHarness({ env: { KARTEI_LOG_LEVEL: 'debug' }, logger: true, logDestination: capture });
  t = await setUpTenant(h, ['INF']);
});
after(() => h.close());

test('no file name, title, CSV cell, template text or task title in the log — succeeded, refused or failed', async () => {
  const INF = t.departments.INF!;
  const head = await t.user({ memberships: [{ departmentId: INF, role: 'head' }] });
  const secrets = ['Logname', 'Logtitel', 'Logzelle', 'Logvorlage', 'Logaufgabe', 'Logbombe', 'Logscan'];
  const p = await head.post('/api/persons', {
    departmentId: INF,
    familyName: 'Protokoll',
    givenName: 'Paul',
    birthDate: '1955-05-05',
  });
  assert.equal(p.status, 201);
  const octet = (name: string) => ({
    'content-type': 'application/octet-stream',
    'x-file-name': encodeURIComponent(name),
  });
  assert.equal(
    (await head.call('POST', `/api/persons/${p.body.id}/documents?title=Logtitel`, testPdf('x'), octet('Logname.pdf')))
      .status,
    201,
  );
  // Refused: a name that does not match, a type not accepted, a bidi control.
  assert.equal(
    (await head.call('POST', `/api/persons/${p.body.id}/documents`, testPdf('x'), octet('Logname.png'))).status,
    422,
  );
  assert.equal(
    (await head.call('POST', `/api/departments/${INF}/mailroom`, Buffer.from('Logscan'), octet('Logscan.pdf'))).status,
    415,
  );
  assert.equal(
    (await head.call('POST', `/api/persons/${p.body.id}/documents`, testPdf('x'), octet('Logname\u202E.pdf'))).status,
    422,
  );
  const csv = Buffer.from('Nachname;Vorname;Geburtsdatum\nLogzelle;Lisa;01.01.1960\nLogzelle;;31.02.1960\n');
  const up = await head.call('POST', `/api/departments/${INF}/imports`, csv, { 'content-type': 'text/csv' });
  assert.equal(up.status, 201, JSON.stringify(up.body));
  const dry = await head.post(`/api/imports/${up.body.id}/dry-run`, {
    version: up.body.version,
    mapping: { person: { familyName: 0, givenName: 1, birthDate: 2 } },
  });
  assert.equal(dry.status, 200);
  assert.equal((await head.post(`/api/imports/${up.body.id}/start`, { version: dry.body.version })).status, 202);
  await h.services.imports.running(up.body.id)?.catch(() => undefined);
  // An XLSX exceljs cannot read, holding the secret.
  const book = new ExcelJS.Workbook();
  book.addWorksheet('A').addRow(['Logbombe']);
  const broken = Buffer.from(await book.xlsx.writeBuffer()).subarray(0, 400);
  assert.equal(
    (await head.call('POST', `/api/departments/${INF}/imports`, broken, { 'content-type': 'text/csv' })).status,
    422,
  );
  await t.admin.post('/api/admin/templates/preview', {
    kind: 'invitation',
    content: {
      name: 'Logvorlage',
      letterhead: { officeName: 'Logvorlage', addressLines: [] },
      senderLine: 'Logvorlage',
      subject: 'Logvorlage {{unbekannt}}',
      body: 'Logvorlage',
      signature: '',
    },
  });
  assert.equal(
    (await head.post(`/api/persons/${p.body.id}/tasks`, { title: 'Logaufgabe', dueDate: '2026-12-24', type: 'call' }))
      .status,
    201,
  );
  await head.post(`/api/persons/${p.body.id}/letters`, { templateId: randomUUID(), requestKey: randomUUID() });
  const log = logLines.join('');
  assert.ok(log.length > 0, 'the log was captured');
  for (const s of secrets) assert.ok(!log.includes(s), `${s} in the log`);
});
