// The import's reading of files and values (issue 17), without a database: encoding detection (BOM, valid
// UTF-8, else Windows-1252) and decoding, delimiter detection (`;`, `,`, tab, quotes respected), CSV and
// XLSX read into tables, dates (04.12.1961, 1961-12-04, Excel serials, bad ones), sexes, and a row
// planned under a mapping (every refusal's reason).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import ExcelJS from 'exceljs';
import iconv from 'iconv-lite';
import {
  decode,
  detectDelimiter,
  detectEncoding,
  detectFormat,
  readTable,
  UnreadableFile,
} from '../../src/desk/import-parse.ts';
import { parseImportDate, parseSex, planRow } from '../../src/desk/import-values.ts';

test('encoding: a BOM or valid UTF-8 is UTF-8; anything else Windows-1252, decoded with its umlauts and €', () => {
  const text = 'Nachname;Vorname\r\nMüller;Jürgen\r\nGroß;Ännchen €\r\n';
  assert.equal(detectEncoding(Buffer.from(text, 'utf8')), 'utf-8');
  assert.equal(detectEncoding(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('a;b')])), 'utf-8');
  assert.equal(detectEncoding(Buffer.from('plain;ascii\n', 'utf8')), 'utf-8');
  const cp = iconv.encode(text, 'win1252');
  assert.equal(detectEncoding(cp), 'windows-1252');
  assert.equal(decode(cp, 'windows-1252'), text);
  // Read as UTF-8 by choice: the bytes that are not UTF-8 become U+FFFD (the row is refused later).
  assert.ok(decode(cp, 'utf-8').includes('\uFFFD'));
  // A BOM is not part of the first heading.
  assert.equal(decode(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('Name')]), 'utf-8'), 'Name');
});

test('delimiter: semicolon (German Excel), comma, tab; a delimiter inside quotes does not count', () => {
  assert.equal(detectDelimiter('a;b;c\n1;2;3\n'), ';');
  assert.equal(detectDelimiter('a,b,c\n1,2,3\n'), ',');
  assert.equal(detectDelimiter('a\tb\tc\n1\t2\t3\n'), '\t');
  assert.equal(detectDelimiter('Name;Ort\n"Meyer, Hans";"Bonn, Rhein"\n"Kunz, Eva";Köln\n'), ';');
  assert.equal(detectDelimiter('"Nachname; Titel",Vorname\n"Graf; Dr.",Otto\n'), ',');
});

test('format: an XLSX is a ZIP; CSV and XLSX read into the same table, empty lines skipped, rows numbered as shown', async () => {
  const csv = Buffer.from(
    'Nachname;Vorname;Geburtsdatum\r\nMüller;Jürgen;04.12.1961\r\n;;\r\n"Groß; Dr.";"Anna\r\nMaria";1961-12-04\r\nKurz\r\n',
  );
  assert.equal(detectFormat(csv), 'csv');
  const t = await readTable(csv, 'csv');
  assert.deepEqual(t.header, ['Nachname', 'Vorname', 'Geburtsdatum']);
  assert.deepEqual(t.rows, [
    { rowNumber: 2, cells: ['Müller', 'Jürgen', '04.12.1961'] },
    { rowNumber: 4, cells: ['Groß; Dr.', 'Anna\r\nMaria', '1961-12-04'] },
    { rowNumber: 5, cells: ['Kurz', '', ''] },
  ]);
  const book = new ExcelJS.Workbook();
  const sheet = book.addWorksheet('A');
  sheet.addRow(['Nachname', 'Vorname', 'Geburtsdatum', 'Zahl']);
  sheet.addRow(['Müller', { richText: [{ text: 'Jür' }, { text: 'gen' }] }, new Date(Date.UTC(1961, 11, 4)), 22619]);
  sheet.addRow([]);
  sheet.addRow(['Groß', 'Anna', '04.12.1961', { formula: '1+1', result: 2 }]);
  const bytes = Buffer.from(await book.xlsx.writeBuffer());
  assert.equal(detectFormat(bytes), 'xlsx');
  const x = await readTable(bytes, 'xlsx');
  assert.deepEqual(x.header, ['Nachname', 'Vorname', 'Geburtsdatum', 'Zahl']);
  assert.deepEqual(x.rows, [
    { rowNumber: 2, cells: ['Müller', 'Jürgen', '1961-12-04', '22619'] },
    { rowNumber: 4, cells: ['Groß', 'Anna', '04.12.1961', '2'] },
  ]);
  // A preview reads only its rows.
  assert.equal((await readTable(csv, 'csv', {}, 1)).rows.length, 1);
  await assert.rejects(readTable(Buffer.from([0x50, 0x4b, 0x03, 0x04, 1, 2, 3]), 'xlsx'), UnreadableFile);
  await assert.rejects(readTable(Buffer.from(''), 'csv'), UnreadableFile);
});

test('dates: German, ISO and Excel serials; impossible, two-digit-year, future and text dates refused', () => {
  const today = '2026-12-05';
  const ok = (v: string) => {
    const d = parseImportDate(v, today);
    return d.ok ? d.date : d.why;
  };
  assert.equal(ok('04.12.1961'), '1961-12-04');
  assert.equal(ok('4.2.1961'), '1961-02-04');
  assert.equal(ok('1961-12-04'), '1961-12-04');
  assert.equal(ok('1961-12-04T00:00:00.000Z'), '1961-12-04');
  assert.equal(ok('22619'), '1961-12-04');
  assert.equal(ok('22619.0'), '1961-12-04');
  assert.equal(ok('61'), '1900-03-01');
  assert.equal(ok('29.02.2000'), '2000-02-29');
  for (const bad of ['31.02.1970', '29.02.1999', '2020-13-01', '04.12.61', '60', 'gestern', '', '1.1.1800'])
    assert.equal(ok(bad), 'invalid', bad);
  assert.equal(ok('06.12.2026'), 'future');
  assert.equal(ok('05.12.2026'), '2026-12-05');
});

test('sexes: German and English words and letters; empty is none; anything else unknown', () => {
  assert.equal(parseSex('w'), 'female');
  assert.equal(parseSex('Weiblich'), 'female');
  assert.equal(parseSex('M'), 'male');
  assert.equal(parseSex('männlich'), 'male');
  assert.equal(parseSex('divers'), 'diverse');
  assert.equal(parseSex('unbekannt'), 'unknown');
  assert.equal(parseSex(' '), undefined);
  assert.equal(parseSex('q'), null);
});

test('a row under a mapping: the person and record, or the reason it is refused', () => {
  const mapping = {
    person: { familyName: 0, givenName: 1, birthDate: 2, sex: 3, city: 4, dicomPatientId: 5 },
    record: { type: 'tb-screening' as const, fields: { date: 6, method: 7, result: 8 } },
  };
  const row = ['Müller', 'Jürgen', '04.12.1961', 'm', 'Köln', 'PID-1', '01.02.2024', 'Röntgen', 'negativ'];
  const plan = planRow(row, mapping, '2026-12-05');
  assert.deepEqual(plan, {
    ok: true,
    person: {
      familyName: 'Müller',
      givenName: 'Jürgen',
      birthDate: '1961-12-04',
      sex: 'male',
      dicomPatientId: 'PID-1',
      address: { city: 'Köln' },
    },
    record: { type: 'tb-screening', content: { date: '2024-02-01', method: 'chest-x-ray', result: 'negative' } },
  });
  const reason = (cells: string[]) => {
    const p = planRow(cells, mapping, '2026-12-05');
    return p.ok ? 'ok' : p.reason;
  };
  const with_ = (i: number, v: string) => row.map((c, j) => (j === i ? v : c));
  assert.equal(reason(with_(0, ' ')), 'family-name-missing');
  assert.equal(reason(with_(1, '')), 'given-name-missing');
  assert.equal(reason(with_(2, '')), 'birth-date-missing');
  assert.equal(reason(with_(2, '31.02.1961')), 'birth-date-invalid');
  assert.equal(reason(with_(2, '01.01.2030')), 'birth-date-in-future');
  assert.equal(reason(with_(3, 'x?')), 'sex-invalid');
  assert.equal(reason(with_(0, 'M'.repeat(201))), 'value-too-long');
  assert.equal(reason(with_(0, 'M\uFFFDller')), 'encoding-invalid');
  assert.equal(reason(with_(0, 'MÃ¼ller')), 'encoding-invalid');
  assert.equal(reason(with_(6, '32.01.2024')), 'record-date-invalid');
  assert.equal(reason(with_(7, 'Ultraschall')), 'record-value-invalid');
  assert.equal(reason(with_(8, '')), 'record-value-missing');
  // A cell not mapped may hold anything.
  assert.equal(reason([...row, 'M\uFFFD']), 'ok');
  // Without a record, only the person.
  const bare = planRow(row, { person: { familyName: 0, givenName: 1, birthDate: 2 } }, '2026-12-05');
  assert.deepEqual(bare, { ok: true, person: { familyName: 'Müller', givenName: 'Jürgen', birthDate: '1961-12-04' } });
});
