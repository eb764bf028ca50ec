// `npm run bench:dicom-scale`: C-FIND and QIDO-RS latency with 1,000,000 indexed instances
// (goal: under 50 ms). Storing a million instances over DICOM would take hours here, so the
// index is filled directly with thin instances — 10 per study, one series per study, two
// studies per patient — built with the archive's own sealing and blind-index functions, in
// batches; the same rows C-STORE would write, without files behind them (queries read none).
// Then, against the running listener and HTTP server: findscu by PatientID (per run and the
// server's time per query), QIDO-RS by PatientID, and QIDO-RS of one study's instances.
//
// Environment: BENCH_DICOM_SCALE (instances, default 1,000,000), BENCH_DICOM_FIND_RUNS
// (default 20), BENCH_DICOM_NO_RESULTS=1 (print only). KARTEI_TEST_PG as for the tests.
import { execSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import type { Insertable } from 'kysely';
import { inTenantTransaction } from '../../src/db/connect.ts';
import type { InstancesTable, SeriesTable, StudiesTable, StudyIndexTable } from '../../src/db/schema.ts';
import { sealField } from '../../src/vault/keyring.ts';
import { seriesBinding, studyBinding, studyDigests } from '../../src/imaging/instance-index.ts';
import { startHarness, setUpTenant, DIALECT } from '../../test/helpers/harness.ts';
import { patientName, uid } from './corpus.ts';
import {
  bearerAuth,
  echoLatency,
  findByPatientId,
  findPerQuery,
  qidoStudiesByPatientId,
  timeHttp,
  ACCEPT_DICOM_JSON,
} from './dcmtk.ts';

const TOTAL = Number(process.env.BENCH_DICOM_SCALE ?? 1_000_000);
const RUNS = Number(process.env.BENCH_DICOM_FIND_RUNS ?? 20);
const PER_STUDY = 10;
const STUDIES_PER_PATIENT = 2;
const BATCH_STUDIES = 200;
const CT = '1.2.840.10008.5.1.4.1.1.2';

const log = (s: string) => process.stderr.write(`[bench:dicom-scale ${new Date().toISOString().slice(11, 19)}] ${s}\n`);
const fmt = (x: number, d = 0) => x.toLocaleString('en', { maximumFractionDigits: d, minimumFractionDigits: d });
const patientId = (p: number) => `SCALE-${String(p + 1).padStart(7, '0')}`;

const h = await startHarness({ dicom: true });
const t = await setUpTenant(h, ['RAD']);
const tenantId = t.tenantId;
const departmentId = t.departments.RAD!;
const device = await t.admin.post('/api/admin/devices', {
  aeTitle: 'SCALEBENCH',
  departmentId,
  permissions: ['find'],
  host: '127.0.0.1',
});
if (device.status !== 201) throw new Error(JSON.stringify(device.body));
const staff = await t.user({ memberships: [{ departmentId, role: 'physician' }] });
const token = (await staff.post('/api/auth/tokens', { name: 'bench', scopes: ['dicomweb:read'], expiresInDays: 1 }))
  .body.token as string;

// ---- Fill -------------------------------------------------------------------------------
const studies = Math.ceil(TOTAL / PER_STUDY);
const fillStart = performance.now();
const { key, indexKey } = await inTenantTransaction(h.services.store, tenantId, async (tx) => ({
  key: await h.services.keyring.departmentKey(tx, tenantId, departmentId),
  indexKey: await h.services.keyring.indexKey(tx, tenantId),
}));
const now = new Date().toISOString();
let written = 0;
for (let first = 0; first < studies; first += BATCH_STUDIES) {
  const studyRows: Insertable<StudiesTable>[] = [];
  const indexRows: Insertable<StudyIndexTable>[] = [];
  const seriesRows: Insertable<SeriesTable>[] = [];
  const instanceRows: Insertable<InstancesTable>[] = [];
  for (let s = first; s < Math.min(studies, first + BATCH_STUDIES); s++) {
    const p = Math.floor(s / STUDIES_PER_PATIENT);
    const id = randomUUID();
    const seriesId = randomUUID();
    const studyUid = uid('scale', 'study', s);
    const patient = {
      name: patientName(p),
      id: patientId(p),
      birthDate: `19${String(30 + (p % 70)).padStart(2, '0')}0101`,
      sex: p % 2 ? 'F' : 'M',
    };
    const accessionNumber = `ACC${s}`;
    studyRows.push({
      id,
      tenant_id: tenantId,
      department_id: departmentId,
      study_uid: studyUid,
      person_id: null,
      patient_enc: sealField(key, studyBinding(tenantId, id, 'patient'), patient),
      study_enc: sealField(key, studyBinding(tenantId, id, 'study'), {
        accessionNumber,
        studyId: String(s),
        description: 'Thorax',
        referringPhysicianName: '',
      }),
      study_date: `2025${String((s % 12) + 1).padStart(2, '0')}15`,
      study_time: '120000',
      modalities: 'CT',
      created_at: now,
      updated_at: now,
    });
    for (const d of studyDigests(indexKey, patient, accessionNumber))
      indexRows.push({ tenant_id: tenantId, study_id: id, kind: d.kind, digest: d.digest });
    seriesRows.push({
      id: seriesId,
      tenant_id: tenantId,
      study_id: id,
      series_uid: uid('scale', 'series', s),
      modality: 'CT',
      series_number: 1,
      series_enc: sealField(key, seriesBinding(tenantId, seriesId), { description: 'Spirale', bodyPart: 'CHEST' }),
      created_at: now,
    });
    for (let i = 0; i < PER_STUDY && written + instanceRows.length < TOTAL; i++) {
      instanceRows.push({
        id: randomUUID(),
        tenant_id: tenantId,
        department_id: departmentId,
        study_id: id,
        series_id: seriesId,
        sop_instance_uid: uid('scale', 'instance', s, i),
        sop_class_uid: CT,
        transfer_syntax_uid: '1.2.840.10008.1.2.1',
        instance_number: i + 1,
        rows: 1,
        columns: 1,
        frames: null,
        bits_allocated: 16,
        pixel_offset: null,
        pixel_length: null,
        file: `${tenantId}/${departmentId}/none/${s}-${i}.dcm`,
        size: 0,
        received_from: 'bench-fill',
        created_at: now,
      });
    }
  }
  await inTenantTransaction(h.services.store, tenantId, async (tx) => {
    await tx.insertInto('studies').values(studyRows).execute();
    for (let i = 0; i < indexRows.length; i += 500)
      await tx
        .insertInto('study_index')
        .values(indexRows.slice(i, i + 500))
        .execute();
    await tx.insertInto('series').values(seriesRows).execute();
    for (let i = 0; i < instanceRows.length; i += 500)
      await tx
        .insertInto('instances')
        .values(instanceRows.slice(i, i + 500))
        .execute();
  });
  written += instanceRows.length;
  if ((first / BATCH_STUDIES) % 50 === 0) log(`filled ${fmt(written)} of ${fmt(TOTAL)} instances`);
}
const fillSeconds = (performance.now() - fillStart) / 1000;
log(`filled ${fmt(written)} instances in ${fmt(studies)} studies in ${fmt(fillSeconds)} s`);

// ---- Measure ----------------------------------------------------------------------------
const listener = h.dicom!;
const base = `${await h.app.listen({ host: '127.0.0.1', port: 0 })}/dicom-web`;
const target = { host: '127.0.0.1', port: listener.port, calledAet: 'KARTEI', callingAet: 'SCALEBENCH' };
const probe = Math.floor(studies / STUDIES_PER_PATIENT / 2);
const loadStart = os.loadavg();
const echo = await echoLatency(target, RUNS);
const find = await findByPatientId(target, patientId(probe), RUNS);
const perQuery = await findPerQuery(target, patientId(probe), { repeats: 20, rounds: 5 });
const qido = await qidoStudiesByPatientId(base, bearerAuth(token), patientId(probe), RUNS);
const instances = await timeHttp(
  `${base}/studies/${uid('scale', 'study', probe * STUDIES_PER_PATIENT)}/instances`,
  bearerAuth(token),
  RUNS,
  { accept: ACCEPT_DICOM_JSON },
);
const loadEnd = os.loadavg();
await h.close();

const ok = (ms: number) => (ms < 50 ? 'meets goal' : '**falls short**');
const rows = [
  `| C-FIND STUDY level by PatientID, findscu per run (process start + association + query), p50 / p95 | ${fmt(find.p50, 1)} / ${fmt(find.p95, 1)} ms (${find.matches} matches) | — (the client's process and association alone, echoscu per run: p50 ${fmt(echo.p50, 1)} ms) | |`,
  `| C-FIND, the server's time per query (findscu --repeat 21 minus 1), median of ${perQuery.rounds.length} | ${fmt(perQuery.perQueryMs, 2)} ms | < 50 ms | ${ok(perQuery.perQueryMs)} |`,
  `| QIDO-RS /studies?PatientID=… (keep-alive), p50 / p95 | ${fmt(qido.p50, 1)} / ${fmt(qido.p95, 1)} ms (${qido.matches} studies) | < 50 ms | ${ok(qido.p50)} |`,
  `| QIDO-RS /studies/{uid}/instances (${PER_STUDY} instances), p50 / p95 | ${fmt(instances.p50, 1)} / ${fmt(instances.p95, 1)} ms | < 50 ms | ${ok(instances.p50)} |`,
];
const commit = execSync('git rev-parse --short HEAD').toString().trim();
const dirty = execSync("git status --porcelain -- . ':!bench/RESULTS.md'").toString().trim()
  ? ' (uncommitted changes)'
  : '';
const la = (l: number[]) => l.map((x) => fmt(x, 1)).join('/');
const report = `
## ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC — DICOM queries at ${fmt(written)} indexed instances — commit ${commit}${dirty}

Node ${process.version}, ${os.cpus().length} cores; load average ${la(loadStart)} before measuring, ${la(loadEnd)} after. ${DIALECT === 'sqlite' ? 'SQLite' : 'PostgreSQL'}; the index filled directly (${fmt(studies)} studies of ${PER_STUDY} thin instances, ${fmt(studies / STUDIES_PER_PATIENT)} patients; patient data sealed and blind-indexed as C-STORE would) in ${fmt(fillSeconds)} s. Every query gated and audited; QIDO-RS with a staff API token. ${RUNS} runs each; no TLS (loopback). Orthanc is not filled to this size (it would have to store a million instances over DICOM).

| measure | Kartei | goal | |
|---|---|---|---|
${rows.join('\n')}
`;
if (!process.env.BENCH_DICOM_NO_RESULTS) fs.appendFileSync('bench/RESULTS.md', report);
process.stdout.write(report);
