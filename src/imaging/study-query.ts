// Finds studies, series and instances of one department for C-FIND, QIDO-RS,
// the retrievals and a file's studies. Exact patient IDs, family names and
// accession numbers match through their blind-index digests, UIDs, dates and
// modalities in clear; patterns with wildcards are matched on the decrypted
// values of the candidates that the exact keys leave. Every search takes a
// GateContext: it runs in the gate's transaction, after the policy allowed it.
import { sql } from 'kysely';
import type { GateContext } from '../access/gate.ts';
import type { Tx } from '../db/connect.ts';
import type { Keyring } from '../vault/keyring.ts';
import { openField } from '../vault/keyring.ts';
import { digest, normaliseName } from '../vault/blind-index.ts';
import { parsePersonName } from './dicom/text.ts';
import { seriesBinding, studyBinding } from './instance-index.ts';

export interface StudyQuery {
  /** The studies linked to one person's file. */
  personId?: string;
  /** Only studies linked to no file (the department's unassigned studies). */
  unassigned?: boolean;
  patientId?: string;
  patientName?: string;
  studyUids?: string[];
  accessionNumber?: string;
  /** DICOM range matching on DA: `YYYYMMDD`, `A-B`, `-B`, `A-`. */
  studyDate?: string;
  modality?: string;
  seriesUids?: string[];
  sopInstanceUids?: string[];
}

interface Patient {
  name: string;
  id: string;
  birthDate: string;
  sex: string;
}

export interface StudyMatch {
  id: string;
  studyUid: string;
  personId: string | null;
  patient: Patient;
  study: { accessionNumber: string; studyId: string; description: string; referringPhysicianName: string };
  studyDate: string | null;
  studyTime: string | null;
  modalities: string[];
  seriesCount: number;
  instanceCount: number;
}

export interface SeriesMatch {
  id: string;
  study: StudyMatch;
  seriesUid: string;
  modality: string | null;
  seriesNumber: number | null;
  description: string;
  bodyPart: string;
  instanceCount: number;
}

export interface InstanceMatch {
  id: string;
  series: SeriesMatch;
  transferSyntaxUid: string;
  /** The sealed Part 10 file under the image root. */
  file: string;
  sopInstanceUid: string;
  sopClassUid: string;
  instanceNumber: number | null;
  rows: number | null;
  columns: number | null;
  frames: number | null;
  bitsAllocated: number | null;
  samplesPerPixel: number | null;
  /** Where the pixel data value lies in the stored file; null without pixel data. */
  pixelOffset: number | null;
  pixelLength: number | null;
}

const isPattern = (v: string) => /[*?]/.test(v);
/** Empty and `*` match everything (PS3.4 C.2.2.2.3). */
const constrains = (v: string | undefined): v is string => !!v && v !== '*';

/**
 * DICOM wildcard matching: `*` any run of characters, `?` one. Greedy with
 * one backtrack point (the last `*`), so time is at most pattern × value,
 * never exponential, whatever a stored value and a query pattern look like.
 */
export function wildcard(pattern: string, value: string): boolean {
  const p = [...pattern];
  const v = [...value];
  let i = 0;
  let j = 0;
  let star = -1;
  let resume = 0;
  while (j < v.length) {
    if (i < p.length && (p[i] === '?' || (p[i] !== '*' && p[i] === v[j]))) {
      i++;
      j++;
    } else if (i < p.length && p[i] === '*') {
      star = i++;
      resume = j;
    } else if (star >= 0) {
      i = star + 1;
      j = ++resume;
    } else return false;
  }
  while (i < p.length && p[i] === '*') i++;
  return i === p.length;
}

/**
 * A person-name key matches when each of its non-empty components (family,
 * given, middle) matches the value's, exactly or by wildcard, ignoring case
 * and accents as the blind index does: `MÜLLER` finds `Müller^Hannelore`.
 */
function nameMatches(query: string, value: string): boolean {
  const q = parsePersonName(query).alphabetic;
  const v = parsePersonName(value).alphabetic;
  const keepWildcards = (s: string) =>
    normaliseName(s.replace(/\*/g, ' x2a ').replace(/\?/g, ' x3f '))
      .replace(/ ?x2a ?/g, '*')
      .replace(/ ?x3f ?/g, '?');
  return (['family', 'given', 'middle'] as const).every(
    (c) => !q[c] || q[c] === '*' || wildcard(keepWildcards(q[c]), normaliseName(v[c])),
  );
}

/** Studies decrypted for one query that matches names or patterns on decrypted values. */
const MAX_CANDIDATES = 20_000;

/** Longer candidate lists stay subqueries (bound parameters are limited). */
const MAX_ID_LIST = 5_000;

/**
 * The studies the selective keys allow — exact patient ID, family name and
 * accession number through their digests, series and instance UIDs — as a
 * list of ids (undefined: no such key). Resolved first, so that the studies
 * are then read by primary key whatever the planner knows of the tables'
 * sizes. Digests that match more studies than a list may hold come back as a
 * subquery instead.
 */
async function candidateStudies(tx: Tx, keyring: Keyring, tenantId: string, departmentId: string, q: StudyQuery) {
  let ids: string[] | undefined;
  const narrow = (found: string[]) => {
    ids = ids ? found.filter((id) => ids!.includes(id)) : [...new Set(found)];
  };
  const wanted: string[] = [];
  const indexKey = await keyring.indexKey(tx, tenantId);
  if (constrains(q.patientId) && !isPattern(q.patientId))
    wanted.push(digest(indexKey, 'patient-id', q.patientId.trim()));
  if (constrains(q.accessionNumber) && !isPattern(q.accessionNumber))
    wanted.push(digest(indexKey, 'accession', q.accessionNumber.trim()));
  const family = q.patientName ? parsePersonName(q.patientName).alphabetic.family : '';
  if (constrains(q.patientName) && family && !isPattern(family))
    wanted.push(digest(indexKey, 'family', normaliseName(family)));
  const byDigests = () =>
    tx
      .selectFrom('study_index')
      .select('study_id')
      .where('tenant_id', '=', tenantId)
      .where('digest', 'in', wanted)
      .groupBy('study_id')
      .having((eb) => eb.fn.count('digest'), '=', wanted.length);
  let wide: ReturnType<typeof byDigests> | undefined;
  if (wanted.length > 0) {
    const rows = await byDigests()
      .limit(MAX_ID_LIST + 1)
      .execute();
    if (rows.length > MAX_ID_LIST) wide = byDigests();
    else narrow(rows.map((r) => r.study_id));
  }
  if (q.seriesUids?.length) {
    narrow(
      (
        await tx
          .selectFrom('series')
          .select('study_id')
          .where('tenant_id', '=', tenantId)
          .where('series_uid', 'in', q.seriesUids)
          .execute()
      ).map((r) => r.study_id),
    );
  }
  if (q.sopInstanceUids?.length) {
    const rows = await tx
      .selectFrom('instances')
      .select('study_id')
      .where('department_id', '=', departmentId)
      .where('sop_instance_uid', 'in', q.sopInstanceUids)
      .execute();
    narrow(rows.map((r) => r.study_id));
  }
  return { ids, wide };
}

export async function findStudies(
  ctx: GateContext,
  keyring: Keyring,
  departmentId: string,
  q: StudyQuery,
  limit: number,
): Promise<StudyMatch[]> {
  const { tx } = ctx;
  const tenantId = ctx.principal.tenantId;
  const candidates = await candidateStudies(tx, keyring, tenantId, departmentId, q);
  if (candidates.ids?.length === 0) return [];
  let query = tx
    .selectFrom('studies')
    .select(['id', 'study_uid', 'person_id', 'patient_enc', 'study_enc', 'study_date', 'study_time', 'modalities'])
    .where('tenant_id', '=', tenantId)
    .where('department_id', '=', departmentId);
  if (candidates.ids) query = query.where('id', 'in', candidates.ids);
  if (candidates.wide) query = query.where('id', 'in', candidates.wide);
  if (q.personId) query = query.where('person_id', '=', q.personId);
  if (q.unassigned) query = query.where('person_id', 'is', null);
  if (q.studyUids?.length) query = query.where('study_uid', 'in', q.studyUids);
  if (constrains(q.studyDate)) {
    const [from, to] = q.studyDate.includes('-') ? q.studyDate.split('-') : [q.studyDate, q.studyDate];
    if (from) query = query.where('study_date', '>=', from);
    if (to) query = query.where('study_date', '<=', to);
  }
  if (constrains(q.modality)) {
    query = query.where(
      'id',
      'in',
      tx.selectFrom('series').select('study_id').where('tenant_id', '=', tenantId).where('modality', '=', q.modality),
    );
  }
  // Matched on decrypted values afterwards, a pattern needs more candidates than it keeps; bounded all the same.
  const postFiltered =
    constrains(q.patientName) ||
    (constrains(q.patientId) && isPattern(q.patientId)) ||
    (constrains(q.accessionNumber) && isPattern(q.accessionNumber));
  const rows = await query
    .orderBy('study_date', 'desc')
    .orderBy('id')
    .limit(postFiltered ? MAX_CANDIDATES : limit)
    .execute();

  const key = await keyring.departmentKey(tx, tenantId, departmentId);
  const out: StudyMatch[] = [];
  for (const r of rows) {
    const patient = openField<Patient>(key, studyBinding(tenantId, r.id, 'patient'), r.patient_enc);
    const study = openField<StudyMatch['study']>(key, studyBinding(tenantId, r.id, 'study'), r.study_enc);
    if (constrains(q.patientName) && !nameMatches(q.patientName, patient.name)) continue;
    if (constrains(q.patientId) && isPattern(q.patientId) && !wildcard(q.patientId, patient.id)) continue;
    if (
      constrains(q.accessionNumber) &&
      isPattern(q.accessionNumber) &&
      !wildcard(q.accessionNumber, study.accessionNumber)
    )
      continue;
    out.push({
      id: r.id,
      studyUid: r.study_uid,
      personId: r.person_id,
      patient,
      study,
      studyDate: r.study_date,
      studyTime: r.study_time,
      modalities: r.modalities ? r.modalities.split('\\') : [],
      seriesCount: 0,
      instanceCount: 0,
    });
    if (out.length >= limit) break;
  }
  await countStudyContents(tx, out);
  return out;
}

/** Bound parameters per IN list: far below SQLite's 32,766 and PostgreSQL's 65,535. */
const IN_BATCH = 1_000;

/** Runs `query` over `ids` in batches of IN_BATCH and concatenates the rows. */
async function inBatches<T>(ids: string[], query: (batch: string[]) => Promise<T[]>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < ids.length; i += IN_BATCH) out.push(...(await query(ids.slice(i, i + IN_BATCH))));
  return out;
}

async function countStudyContents(tx: Tx, studies: StudyMatch[]) {
  if (studies.length === 0) return;
  const byId = new Map(studies.map((s) => [s.id, s]));
  const counts = await inBatches([...byId.keys()], (batch) =>
    tx
      .selectFrom('instances')
      .select([
        'study_id',
        (eb) => eb.fn.count<number>('id').as('instances'),
        (eb) => eb.fn.count<number>('series_id').distinct().as('series'),
      ])
      .where('study_id', 'in', batch)
      .groupBy('study_id')
      .execute(),
  );
  for (const c of counts)
    Object.assign(byId.get(c.study_id)!, { instanceCount: Number(c.instances), seriesCount: Number(c.series) });
}

export interface ImageRef {
  seriesUid: string;
  sopInstanceUid: string;
}

/**
 * Each study's first image as the viewer orders them (lowest series number, then
 * lowest instance number; a missing number counts as 0, ties go to the lower
 * UID), so that a client can start loading it while it asks for the rest of the study.
 */
export async function firstImages(ctx: GateContext, studyIds: string[]): Promise<Map<string, ImageRef>> {
  const { tx } = ctx;
  const series = await inBatches(studyIds, (batch) =>
    tx
      .selectFrom('series')
      .select(['id', 'study_id', 'series_uid', 'series_number'])
      .where('study_id', 'in', batch)
      .execute(),
  );
  const first = new Map<string, (typeof series)[number]>();
  for (const s of series) {
    const f = first.get(s.study_id);
    const n = s.series_number ?? 0;
    const fn = f ? (f.series_number ?? 0) : 0;
    if (!f || n < fn || (n === fn && s.series_uid < f.series_uid)) first.set(s.study_id, s);
  }
  const instances = await inBatches(
    [...first.values()].map((s) => s.id),
    (batch) =>
      tx
        .selectFrom('series')
        .select((eb) => [
          'series.id',
          eb
            .selectFrom('instances')
            .select('sop_instance_uid')
            .whereRef('instances.series_id', '=', 'series.id')
            .orderBy(sql`coalesce(instance_number, 0)`)
            .orderBy('sop_instance_uid')
            .limit(1)
            .as('sop'),
        ])
        .where('series.id', 'in', batch)
        .execute(),
  );
  const sopBySeries = new Map(instances.map((r) => [r.id, r.sop]));
  const out = new Map<string, ImageRef>();
  for (const [studyId, s] of first) {
    const sop = sopBySeries.get(s.id);
    if (sop) out.set(studyId, { seriesUid: s.series_uid, sopInstanceUid: sop });
  }
  return out;
}

/** A series' columns, selected and grouped by alike. */
const SERIES_COLUMNS = [
  'series.id',
  'series.study_id',
  'series.series_uid',
  'series.modality',
  'series.series_number',
  'series.series_enc',
] as const;

export async function findSeries(
  ctx: GateContext,
  keyring: Keyring,
  departmentId: string,
  studies: StudyMatch[],
  q: StudyQuery,
): Promise<SeriesMatch[]> {
  const { tx } = ctx;
  const tenantId = ctx.principal.tenantId;
  if (studies.length === 0) return [];
  const byId = new Map(studies.map((s) => [s.id, s]));
  const rows = await inBatches([...byId.keys()], (batch) => {
    let query = tx
      .selectFrom('series')
      .leftJoin('instances', 'instances.series_id', 'series.id')
      .select([...SERIES_COLUMNS, (eb) => eb.fn.count<number>('instances.id').as('instances')])
      .where('series.study_id', 'in', batch)
      .groupBy([...SERIES_COLUMNS]);
    if (q.seriesUids?.length) query = query.where('series.series_uid', 'in', q.seriesUids);
    if (constrains(q.modality)) query = query.where('series.modality', '=', q.modality);
    return query.orderBy('series.series_number').execute();
  });
  const key = await keyring.departmentKey(tx, tenantId, departmentId);
  return rows.map((r) => {
    const s = openField<{ description: string; bodyPart: string }>(key, seriesBinding(tenantId, r.id), r.series_enc);
    return {
      id: r.id,
      study: byId.get(r.study_id)!,
      seriesUid: r.series_uid,
      modality: r.modality,
      seriesNumber: r.series_number,
      description: s.description,
      bodyPart: s.bodyPart,
      instanceCount: Number(r.instances),
    };
  });
}

export async function findInstances(ctx: GateContext, series: SeriesMatch[], q: StudyQuery): Promise<InstanceMatch[]> {
  const { tx } = ctx;
  if (series.length === 0) return [];
  const byId = new Map(series.map((s) => [s.id, s]));
  const rows = await inBatches([...byId.keys()], (batch) => {
    let query = tx
      .selectFrom('instances')
      .select([
        'id',
        'series_id',
        'sop_instance_uid',
        'sop_class_uid',
        'transfer_syntax_uid',
        'file',
        'instance_number',
        'rows',
        'columns',
        'frames',
        'bits_allocated',
        'samples_per_pixel',
        'pixel_offset',
        'pixel_length',
      ])
      .where('series_id', 'in', batch);
    if (q.sopInstanceUids?.length) query = query.where('sop_instance_uid', 'in', q.sopInstanceUids);
    return query.orderBy('series_id').orderBy('instance_number').execute();
  });
  return rows.map((r) => ({
    id: r.id,
    series: byId.get(r.series_id)!,
    transferSyntaxUid: r.transfer_syntax_uid,
    file: r.file,
    sopInstanceUid: r.sop_instance_uid,
    sopClassUid: r.sop_class_uid,
    instanceNumber: r.instance_number,
    rows: r.rows,
    columns: r.columns,
    frames: r.frames,
    bitsAllocated: r.bits_allocated,
    samplesPerPixel: r.samples_per_pixel,
    pixelOffset: r.pixel_offset,
    pixelLength: r.pixel_length,
  }));
}
