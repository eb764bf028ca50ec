// `npm run bench:import`: the import of an office's existing data (issue 17) at its size, in one process.
//  1. seeds BENCH_EXISTING (5,000) files into each department through the gate (common German names);
//  2. generates BENCH_ROWS (100,000) rows — German names with umlauts and their repeats (bench/demis/names.ts),
//     birth dates as 04.12.1961, ~5 % of the seeded persons again (matched), ~1 % bad dates (refused), each with
//     a TB screening (date, method, result) — written as a UTF-8 CSV (`;`), a Windows-1252 CSV and an XLSX;
//  3. for each of the three, in its own department: upload, dry run, import (HTTP as the web does, the import's
//     batches in the background), timing each step; rows per second of the import;
//     A quarter of the rows' results are "Kontrolle" (BENCH_FOLLOW_UP=0: none), so the TB screening's task rule
//     makes a follow-up task for each of them in the import's transaction (checked: exactly one per such row);
//  4. appends the figures, the machine's load and the commit to bench/RESULTS.md.
// Runs on SQLite, or on PostgreSQL with KARTEI_TEST_PG (test/helpers/harness.ts).
// BENCH_PROFILE=1 wraps the first import in the inspector's CPU profiler (writes bench-import.cpuprofile).
import { execSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Session } from 'node:inspector/promises';
import ExcelJS from 'exceljs';
import iconv from 'iconv-lite';
import { DIALECT, setUpTenant, startHarness } from '../../test/helpers/harness.ts';
import { authenticate } from '../../src/identity/sessions.ts';
import { inTenantTransaction } from '../../src/db/connect.ts';
import { random, somePerson } from '../demis/names.ts';

const ROWS = Number(process.env.BENCH_ROWS ?? 100_000);
const EXISTING = Number(process.env.BENCH_EXISTING ?? 5_000);
const KINDS = (process.env.BENCH_KINDS ?? 'utf8,win1252,xlsx').split(',');
/** Whether every fourth row's result is "Kontrolle" (a rule's follow-up task), as in issue 17's walk. */
const FOLLOW_UP = process.env.BENCH_FOLLOW_UP !== '0';
/** Rows per batch transaction (the import's default: 1000). */
const BATCH = Number(process.env.BENCH_BATCH ?? 1000);

const load = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join('/');
const loadBefore = load();
const h = await startHarness();
const t = await setUpTenant(h, ['A', 'B', 'C']);
h.services.imports.batchSize = BATCH;
const rnd = random(17);
const de = (iso: string) => `${iso.slice(8, 10)}.${iso.slice(5, 7)}.${iso.slice(0, 4)}`;

interface Row {
  familyName: string;
  givenName: string;
  birthDate: string;
  sex: string;
  city: string;
  date: string;
  method: string;
  result: string;
}

/** The rows, with ~5 % persons already on file in the department and ~1 % bad birth dates. */
function rowsFor(existing: Row[]): Row[] {
  const out: Row[] = [];
  for (let i = 0; i < ROWS; i++) {
    const u = rnd();
    if (u < 0.05 && existing.length) {
      out.push(existing[Math.floor(rnd() * existing.length)]!);
      continue;
    }
    const p = somePerson(rnd);
    out.push({
      familyName: p.familyName,
      givenName: p.givenName,
      birthDate: u < 0.06 ? '31.02.1970' : de(p.birthDate),
      sex: rnd() < 0.5 ? 'w' : 'm',
      city: ['München', 'Köln', 'Düsseldorf', 'Lübeck', 'Görlitz'][i % 5]!,
      date: `0${1 + (i % 9)}.03.2024`,
      method: ['Röntgen', 'igra', 'sputum'][i % 3]!,
      result: FOLLOW_UP
        ? ['negativ', 'positiv', 'ausstehend', 'Kontrolle'][i % 4]!
        : ['negativ', 'positiv', 'ausstehend'][i % 3]!,
    });
  }
  return out;
}

const HEADER = ['Nachname', 'Vorname', 'Geburtsdatum', 'Geschlecht', 'Ort', 'Untersucht am', 'Methode', 'Ergebnis'];
const cells = (r: Row) => [r.familyName, r.givenName, r.birthDate, r.sex, r.city, r.date, r.method, r.result];
const csvText = (rows: Row[]) => [HEADER, ...rows.map(cells)].map((c) => c.join(';')).join('\r\n');
async function xlsxBytes(rows: Row[]) {
  const book = new ExcelJS.Workbook();
  const sheet = book.addWorksheet('Personen');
  sheet.addRow(HEADER);
  for (const r of rows) sheet.addRow(cells(r));
  return Buffer.from(await book.xlsx.writeBuffer());
}
const MAPPING = {
  person: { familyName: 0, givenName: 1, birthDate: 2, sex: 3, city: 4 },
  record: { type: 'tb-screening', fields: { date: 5, method: 6, result: 7 } },
};

const results: string[] = [];
let profiled = false;
for (const [i, kind] of KINDS.entries()) {
  const code = ['A', 'B', 'C'][i]!;
  const dept = t.departments[code]!;
  const head = await t.user({ memberships: [{ departmentId: dept, role: 'head' }] });
  const { principal } = (await authenticate(h.services.store.db, head.cookie!))!;
  // 1. The department's existing files.
  const existing: Row[] = [];
  for (let done = 0; done < EXISTING; done += 1000) {
    await h.services.gate.run(principal, 'person.create', { kind: 'department', departmentId: dept }, async (ctx) => {
      for (let j = done; j < Math.min(done + 1000, EXISTING); j++) {
        const p = somePerson(rnd);
        await h.services.persons.create(ctx, dept, p);
        existing.push({
          ...p,
          birthDate: de(p.birthDate),
          sex: '',
          city: '',
          date: '01.03.2024',
          method: 'igra',
          result: 'negativ',
        });
      }
    });
  }
  // 2. The file.
  const rows = rowsFor(existing);
  const bytes =
    kind === 'xlsx'
      ? await xlsxBytes(rows)
      : kind === 'win1252'
        ? iconv.encode(csvText(rows), 'win1252')
        : Buffer.from(csvText(rows), 'utf8');
  const type = kind === 'xlsx' ? 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' : 'text/csv';
  // 3. Upload, dry run, import.
  let t0 = performance.now();
  const up = await head.call('POST', `/api/departments/${dept}/imports`, bytes, { 'content-type': type });
  if (up.status !== 201) throw new Error(`upload: ${up.status} ${JSON.stringify(up.body).slice(0, 500)}`);
  const uploadS = (performance.now() - t0) / 1000;
  t0 = performance.now();
  const dry = await head.post(`/api/imports/${up.body.id}/dry-run`, { version: up.body.version, mapping: MAPPING });
  if (dry.status !== 200) throw new Error(`dry run: ${dry.status} ${JSON.stringify(dry.body).slice(0, 500)}`);
  const dryS = (performance.now() - t0) / 1000;
  const profile = process.env.BENCH_PROFILE === '1' && !profiled ? new Session() : undefined;
  if (profile) {
    profiled = true;
    profile.connect();
    await profile.post('Profiler.enable');
    await profile.post('Profiler.start');
  }
  t0 = performance.now();
  const go = await head.post(`/api/imports/${up.body.id}/start`, { version: dry.body.version });
  if (go.status !== 202) throw new Error(`start: ${go.status} ${JSON.stringify(go.body)}`);
  await h.services.imports.running(up.body.id);
  const importS = (performance.now() - t0) / 1000;
  if (profile) {
    const { profile: p } = await profile.post('Profiler.stop');
    fs.writeFileSync('bench-import.cpuprofile', JSON.stringify(p));
    profile.disconnect();
  }
  const done = (await head.get(`/api/imports/${up.body.id}`)).body;
  if (done.state !== 'done') throw new Error(`import ended ${done.state} at ${done.position}`);
  const c = done.counts;
  // The rules fired once per imported row with a follow-up result (refused rows bring none).
  const expectedTasks = rows.filter((r) => r.result === 'Kontrolle' && r.birthDate !== '31.02.1970').length;
  const ruleTasks = Number(
    (
      await inTenantTransaction(h.services.store, t.tenantId, (tx) =>
        tx
          .selectFrom('tasks')
          .select((eb) => eb.fn.countAll<number | string>().as('n'))
          .where('department_id', '=', dept)
          .where('source', 'like', 'rule:%')
          .executeTakeFirstOrThrow(),
      )
    ).n,
  );
  if (ruleTasks !== expectedTasks) throw new Error(`rule tasks: ${ruleTasks}, expected ${expectedTasks}`);
  const line =
    `| ${kind} | ${(bytes.length / 1e6).toFixed(1)} MB | ${ROWS.toLocaleString('en')} | ${uploadS.toFixed(1)} s | ` +
    `${dryS.toFixed(1)} s | ${importS.toFixed(1)} s | ${Math.round(ROWS / importS).toLocaleString('en')} | ` +
    `${c.created.toLocaleString('en')} / ${c.matched.toLocaleString('en')} / ${c.refused.toLocaleString('en')} | ` +
    `${ruleTasks.toLocaleString('en')} |`;
  process.stderr.write(`${line}\n`);
  results.push(line);
}
const loadAfter = load();
await h.close();

const commit = execSync('git rev-parse --short HEAD').toString().trim();
const when = new Date().toISOString().slice(0, 16).replace('T', ' ');
const section = `
## ${when} UTC — Import of existing data (issue 17): ${ROWS.toLocaleString('en')} rows, CSV (UTF-8, Windows-1252) and XLSX — commit ${commit}

\`npm run bench:import\` (bench/import/run.ts), ${DIALECT}, Node ${process.version}, ${os.cpus().length} cores, load average
${loadBefore} before and ${loadAfter} after. Each file goes into its own department
holding ${EXISTING.toLocaleString('en')} files; every row brings a TB screening record; ~5 % of the rows are persons on file
(matched, the record attached), ~1 % have a bad birth date (refused), common names repeat (an earlier row: matched).
Upload = read, detect, seal; dry run = every row planned and matched through the blind index, outcomes stored; import =
the batches of ${BATCH} rows in the background, each one gate transaction (persons, keys, versions, index, records, row
outcomes, position, one audit event per person). ${FOLLOW_UP ? 'Every fourth row\'s result is "Kontrolle": the TB screening\'s task rule makes its follow-up task in the same transaction (rule tasks: exactly one per such imported row, checked).' : 'No row\'s result is "Kontrolle" (BENCH_FOLLOW_UP=0): the task rules follow every record and make no task.'}

| file | size | rows | upload | dry run | import | rows/s | created / matched / refused | rule tasks |
|---|---|---|---|---|---|---|---|---|
${results.join('\n')}
`;
fs.appendFileSync(path.resolve(import.meta.dirname, '../RESULTS.md'), section);
process.stderr.write(section);
