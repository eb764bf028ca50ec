// Indexes a received instance inside the gate's transaction: its study and
// series (created on first sight), the instance row, the study's blind-index
// digests, and the link to the person's file in the same department when
// exactly one person matches by Patient ID, or else by name and birth date.
import { randomUUID } from 'node:crypto';
import type { Insertable } from 'kysely';
import type { GateContext } from '../access/gate.ts';
import { serialise, twinSavepoint, type Tx } from '../db/connect.ts';
import { prepared } from '../db/prepared.ts';
import type { Database } from '../db/schema.ts';
import type { Keyring } from '../vault/keyring.ts';
import { sealField } from '../vault/keyring.ts';
import { digest, personDigests } from '../vault/blind-index.ts';
import { Tag } from './dicom/tags.ts';
import { parsePersonName } from './dicom/text.ts';
import { numberValue, textValue, type Dataset } from './dicom/values.ts';
import type { PixelDataPosition } from './dicom/dataset-scanner.ts';

/** What the archive keeps of one received instance. */
export interface InstanceFacts {
  id: string;
  departmentId: string;
  /** The device or user it came from. */
  receivedFrom: string;
  transferSyntaxUid: string;
  elements: Dataset;
  /** Where the pixel data value starts in the stored file (past the Part 10 header). */
  pixelData?: PixelDataPosition;
  file: string;
  size: number;
}

export interface Indexed {
  instanceId: string;
  studyId: string;
  personId: string | null;
  /** The SOP instance was already stored in this department: the first copy is kept. */
  duplicate: boolean;
}

export const studyBinding = (tenantId: string, studyId: string, field: 'patient' | 'study') => ({
  tenantId,
  table: 'studies',
  rowId: studyId,
  field,
});
export const seriesBinding = (tenantId: string, seriesId: string) => ({
  tenantId,
  table: 'series',
  rowId: seriesId,
  field: 'series',
});

/** DICOM DA (YYYYMMDD) as ISO; undefined for anything else. */
export const isoDate = (da: string | undefined) =>
  da && /^\d{8}$/.test(da) ? `${da.slice(0, 4)}-${da.slice(4, 6)}-${da.slice(6)}` : undefined;

// Every stored instance runs these (issue 18, ingest): built and compiled once (src/db/prepared.ts).
const storedInstance = prepared((db, departmentId: string, sopInstanceUid: string) =>
  db
    .selectFrom('instances')
    .innerJoin('studies', 'studies.id', 'instances.study_id')
    .select(['instances.id', 'instances.study_id', 'studies.person_id'])
    .where('instances.department_id', '=', departmentId)
    .where('instances.sop_instance_uid', '=', sopInstanceUid),
);
const studyByUid = prepared((db, departmentId: string, studyUid: string) =>
  db
    .selectFrom('studies')
    .select(['id', 'person_id', 'modalities'])
    .where('department_id', '=', departmentId)
    .where('study_uid', '=', studyUid),
);
const seriesByUid = prepared((db, studyId: string, seriesUid: string) =>
  db.selectFrom('series').select('id').where('study_id', '=', studyId).where('series_uid', '=', seriesUid),
);
const INSTANCE_COLUMNS = [
  'id',
  'tenant_id',
  'department_id',
  'study_id',
  'series_id',
  'sop_instance_uid',
  'sop_class_uid',
  'transfer_syntax_uid',
  'instance_number',
  'rows',
  'columns',
  'frames',
  'bits_allocated',
  'samples_per_pixel',
  'pixel_offset',
  'pixel_length',
  'file',
  'size',
  'received_from',
  'created_at',
] as const;
const insertInstance = prepared((db, ...values: unknown[]) =>
  db
    .insertInto('instances')
    .values(
      Object.fromEntries(INSTANCE_COLUMNS.map((c, i) => [c, values[i]])) as unknown as Insertable<
        Database['instances']
      >,
    )
    // The same instance stored on another association at once: on PostgreSQL this waits for that
    // store's transaction and, once it commits, inserts nothing (no row back) instead of failing.
    .onConflict((oc) => oc.columns(['department_id', 'sop_instance_uid']).doNothing())
    .returning('id'),
);

export async function indexInstance(ctx: GateContext, keyring: Keyring, f: InstanceFacts): Promise<Indexed> {
  const { tx } = ctx;
  const tenantId = ctx.principal.tenantId;
  const el = f.elements;
  const sopInstanceUid = textValue(el, Tag.SopInstanceUid)!;
  const [existing] = await storedInstance(tx, f.departmentId, sopInstanceUid);
  if (existing)
    return { instanceId: existing.id, studyId: existing.study_id, personId: existing.person_id, duplicate: true };

  const key = await keyring.departmentKey(tx, tenantId, f.departmentId);
  // Should another association store this instance meanwhile (PostgreSQL), the study, series and modality this
  // copy made or added for it are undone with it: no study is left without an image.
  const twin = await twinSavepoint(tx, 'index_instance');
  const study = await findOrCreateStudy(ctx, keyring, key, f);
  const seriesId = await findOrCreateSeries(ctx, key, study.id, el);
  const row: Record<(typeof INSTANCE_COLUMNS)[number], unknown> = {
    id: f.id,
    tenant_id: tenantId,
    department_id: f.departmentId,
    study_id: study.id,
    series_id: seriesId,
    sop_instance_uid: sopInstanceUid,
    sop_class_uid: textValue(el, Tag.SopClassUid)!,
    transfer_syntax_uid: f.transferSyntaxUid,
    instance_number: numberValue(el, Tag.InstanceNumber) ?? null,
    rows: numberValue(el, Tag.Rows) ?? null,
    columns: numberValue(el, Tag.Columns) ?? null,
    frames: numberValue(el, Tag.NumberOfFrames) ?? null,
    bits_allocated: numberValue(el, Tag.BitsAllocated) ?? null,
    samples_per_pixel: numberValue(el, Tag.SamplesPerPixel) ?? null,
    pixel_offset: f.pixelData?.offset ?? null,
    pixel_length: f.pixelData?.length ?? null,
    file: f.file,
    size: f.size,
    received_from: f.receivedFrom,
    created_at: ctx.now,
  };
  const [inserted] = await insertInstance(tx, ...INSTANCE_COLUMNS.map((c) => row[c]));
  if (!inserted) {
    // Its first copy, stored meanwhile, is kept: this one is a duplicate.
    await twin.undo();
    const [first] = await storedInstance(tx, f.departmentId, sopInstanceUid);
    if (!first) throw new Error('instance neither inserted nor found');
    return { instanceId: first.id, studyId: first.study_id, personId: first.person_id, duplicate: true };
  }
  return { instanceId: f.id, studyId: study.id, personId: study.personId, duplicate: false };
}

async function findOrCreateStudy(
  ctx: GateContext,
  keyring: Keyring,
  key: Buffer,
  f: InstanceFacts,
): Promise<{ id: string; personId: string | null }> {
  const { tx, now } = ctx;
  const tenantId = ctx.principal.tenantId;
  const el = f.elements;
  const studyUid = textValue(el, Tag.StudyInstanceUid)!;
  const modality = textValue(el, Tag.Modality) ?? '';
  const lookUp = async () => (await studyByUid(tx, f.departmentId, studyUid))[0];
  let found = await lookUp();
  // Issue 19: two-instances — a new study stored on two associations at once (two modalities, two instances) is
  // made once: on PostgreSQL the second waits for the first's transaction and then finds its study.
  if (!found) {
    await serialise(tx, `study:${f.departmentId}:${studyUid}`);
    found = await lookUp();
  }
  if (found) {
    const modalities = found.modalities ? found.modalities.split('\\') : [];
    if (modality && !modalities.includes(modality)) {
      await tx
        .updateTable('studies')
        .set({ modalities: [...modalities, modality].join('\\'), updated_at: now })
        .where('id', '=', found.id)
        .execute();
    }
    return { id: found.id, personId: found.person_id };
  }
  const id = randomUUID();
  const patient = {
    name: textValue(el, Tag.PatientName) ?? '',
    id: textValue(el, Tag.PatientId) ?? '',
    birthDate: textValue(el, Tag.PatientBirthDate) ?? '',
    sex: textValue(el, Tag.PatientSex) ?? '',
  };
  const study = {
    accessionNumber: textValue(el, Tag.AccessionNumber) ?? '',
    studyId: textValue(el, Tag.StudyId) ?? '',
    description: textValue(el, Tag.StudyDescription) ?? '',
    referringPhysicianName: textValue(el, Tag.ReferringPhysicianName) ?? '',
  };
  const indexKey = await keyring.indexKey(tx, tenantId);
  const digests = studyDigests(indexKey, patient, study.accessionNumber);
  const personId = await matchingPerson(tx, tenantId, f.departmentId, digests);
  await tx
    .insertInto('studies')
    .values({
      id,
      tenant_id: tenantId,
      department_id: f.departmentId,
      study_uid: studyUid,
      person_id: personId,
      patient_enc: sealField(key, studyBinding(tenantId, id, 'patient'), patient),
      study_enc: sealField(key, studyBinding(tenantId, id, 'study'), study),
      study_date: textValue(el, Tag.StudyDate) ?? null,
      study_time: textValue(el, Tag.StudyTime) ?? null,
      modalities: modality,
      created_at: now,
      updated_at: now,
    })
    .execute();
  if (digests.length > 0) {
    await tx
      .insertInto('study_index')
      .values(digests.map((d) => ({ tenant_id: tenantId, study_id: id, kind: d.kind, digest: d.digest })))
      .execute();
  }
  return { id, personId };
}

async function findOrCreateSeries(ctx: GateContext, key: Buffer, studyId: string, el: Dataset): Promise<string> {
  const seriesUid = textValue(el, Tag.SeriesInstanceUid)!;
  const lookUp = async () => (await seriesByUid(ctx.tx, studyId, seriesUid))[0];
  let found = await lookUp();
  // Issue 19: two-instances — likewise a new series.
  if (!found) {
    await serialise(ctx.tx, `series:${studyId}:${seriesUid}`);
    found = await lookUp();
  }
  if (found) return found.id;
  const id = randomUUID();
  const tenantId = ctx.principal.tenantId;
  await ctx.tx
    .insertInto('series')
    .values({
      id,
      tenant_id: tenantId,
      study_id: studyId,
      series_uid: seriesUid,
      modality: textValue(el, Tag.Modality) ?? null,
      series_number: numberValue(el, Tag.SeriesNumber) ?? null,
      series_enc: sealField(key, seriesBinding(tenantId, id), {
        description: textValue(el, Tag.SeriesDescription) ?? '',
        bodyPart: textValue(el, Tag.BodyPartExamined) ?? '',
      }),
      created_at: ctx.now,
    })
    .execute();
  return id;
}

/**
 * The study's digests under the tenant's index key: the same kinds as a
 * person's (so a study and a file match on equal digests), plus patient ID and
 * accession number. The given name is the DICOM name's given and middle names.
 */
export function studyDigests(
  indexKey: Buffer,
  patient: { name: string; id: string; birthDate: string },
  accessionNumber: string,
) {
  const name = parsePersonName(patient.name).alphabetic;
  const givenName = [name.given, name.middle].filter(Boolean).join(' ');
  const out = personDigests(indexKey, {
    familyName: name.family,
    givenName,
    birthDate: isoDate(patient.birthDate) ?? '',
    dicomPatientId: patient.id,
  });
  if (accessionNumber) out.push({ kind: 'accession', digest: digest(indexKey, 'accession', accessionNumber.trim()) });
  return out.filter((d) => d.digest);
}

/**
 * The one file of the department the study belongs to, else null (never a guess):
 * the one whose DICOM Patient ID is the study's; without one, the one whose family
 * and given name (German transliteration: MUELLER is Müller) and birth date are the
 * study's. Two files with the study's Patient ID, or with its name and birth date:
 * null, and the study waits in the department's unassigned studies.
 */
async function matchingPerson(
  tx: Tx,
  tenantId: string,
  departmentId: string,
  digests: { kind: string; digest: string }[],
): Promise<string | null> {
  const one = async (kind: 'patient-id' | 'link') => {
    const d = digests.find((x) => x.kind === kind);
    if (!d) return [];
    const rows = await tx
      .selectFrom('person_index')
      .innerJoin('persons', 'persons.id', 'person_index.person_id')
      .select('person_index.person_id')
      .distinct()
      .where('person_index.tenant_id', '=', tenantId)
      .where('person_index.digest', '=', d.digest)
      .where('persons.department_id', '=', departmentId)
      .limit(2)
      .execute();
    return rows.map((r) => r.person_id);
  };
  const byId = await one('patient-id');
  if (byId.length > 0) return byId.length === 1 ? byId[0]! : null;
  const byName = await one('link');
  return byName.length === 1 ? byName[0]! : null;
}
