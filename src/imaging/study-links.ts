// A person's images: the studies linked to the file; a department's studies
// linked to no file yet, which its physicians link by hand (or take off a file
// again); and what the viewer's banner names: whose study it is. Every function
// takes a GateContext and fills in its audit event.
import { decidedDepartment, type GateContext } from '../access/gate.ts';
import { KarteiError, fieldRefused } from '../errors.ts';
import { refuseMerged, type Persons } from '../records/persons.ts';
import type { Keyring } from '../vault/keyring.ts';
import { parsePersonName } from './dicom/text.ts';
import { isoDate } from './instance-index.ts';
import { findStudies, firstImages, type StudyMatch, type StudyQuery } from './study-query.ts';

/** More studies than a file plausibly has; bounds the answer. */
const MAX_STUDIES = 1_000;
/** The newest unassigned studies of a department shown at once; more wait until these are linked. */
const MAX_UNASSIGNED = 500;

/** The patient as the study's DICOM header names them (not a file's data). */
function header(st: StudyMatch) {
  const name = parsePersonName(st.patient.name).alphabetic;
  return {
    familyName: name.family,
    givenName: [name.given, name.middle].filter(Boolean).join(' '),
    birthDate: isoDate(st.patient.birthDate) ?? null,
    patientId: st.patient.id,
  };
}

/** The study of the file's department, or 404 naming the field. */
async function studyOfFile(ctx: GateContext, studyUid: string) {
  const study = await ctx.tx
    .selectFrom('studies')
    .select(['id', 'person_id'])
    .where('tenant_id', '=', ctx.principal.tenantId)
    .where('department_id', '=', ctx.target.departmentId!)
    .where('study_uid', '=', studyUid)
    .executeTakeFirst();
  if (!study)
    throw new KarteiError('not-found', "studyUid: no such study in this file's department", { field: 'studyUid' });
  return study;
}

/** A department's studies as lists show them (with each one's first image), the count on the record. */
async function listed(ctx: GateContext, keyring: Keyring, departmentId: string, filter: StudyQuery, max: number) {
  const studies = await findStudies(ctx, keyring, departmentId, filter, max);
  ctx.audit.detail = { count: studies.length };
  const first = await firstImages(
    ctx,
    studies.map((st) => st.id),
  );
  return studies.map((st) => ({
    match: st,
    summary: {
      studyUid: st.studyUid,
      studyDate: st.studyDate,
      description: st.study.description,
      modalities: st.modalities,
      seriesCount: st.seriesCount,
      instanceCount: st.instanceCount,
      firstImage: first.get(st.id) ?? null,
    },
  }));
}

/** The studies linked to the file the gate resolved, each saying whether this caller may take it off again. */
export async function fileStudies(ctx: GateContext, keyring: Keyring, personId: string) {
  const unlink = ctx.may('study.link');
  return (await listed(ctx, keyring, ctx.target.departmentId!, { personId }, MAX_STUDIES)).map(({ summary }) => ({
    ...summary,
    unlink,
  }));
}

/**
 * Links a study of the file's department to the file by hand, if no other file has it.
 * Two physicians linking one study at once: the update is conditional, so one wins and the other gets 409.
 */
export async function linkStudy(ctx: GateContext, personId: string, studyUid: string) {
  // A file merged into another takes no study (issue 16): its studies are the other file's now.
  await refuseMerged(ctx, personId);
  const study = await studyOfFile(ctx, studyUid);
  const taken = () => fieldRefused('conflict', 'studyUid', 'study-other-file', 'the study belongs to another file');
  if (study.person_id && study.person_id !== personId) throw taken();
  const moved = await ctx.tx
    .updateTable('studies')
    .set({ person_id: personId, updated_at: ctx.now })
    .where('id', '=', study.id)
    .where((eb) => eb.or([eb('person_id', 'is', null), eb('person_id', '=', personId)]))
    .executeTakeFirst();
  if (Number(moved.numUpdatedRows) !== 1) throw taken();
  ctx.audit.detail = { studyId: study.id };
  return { studyUid, personId };
}

/** Takes a study off a file it was wrongly linked to: it goes back to the department's unassigned studies. */
export async function unlinkStudy(ctx: GateContext, personId: string, studyUid: string): Promise<void> {
  const study = await studyOfFile(ctx, studyUid);
  const moved = await ctx.tx
    .updateTable('studies')
    .set({ person_id: null, updated_at: ctx.now })
    .where('id', '=', study.id)
    .where('person_id', '=', personId)
    .executeTakeFirst();
  if (Number(moved.numUpdatedRows) !== 1)
    throw new KarteiError('not-found', 'studyUid: the study is not linked to this file', { field: 'studyUid' });
  ctx.audit.detail = { studyId: study.id, unlinked: true };
}

/** A department's studies that no file claimed: what their DICOM headers say, for a physician to link by hand. */
export async function unassignedStudies(ctx: GateContext, keyring: Keyring) {
  return (await listed(ctx, keyring, decidedDepartment(ctx), { unassigned: true }, MAX_UNASSIGNED)).map(
    ({ summary, match }) => ({
      ...summary,
      patient: header(match),
    }),
  );
}

/** The viewer's banner: whose study this is — the linked file's person, else the DICOM header's — and where it belongs. */
export async function studyBanner(ctx: GateContext, keyring: Keyring, persons: Persons, studyUid: string) {
  const tenantId = ctx.principal.tenantId;
  const departmentId = ctx.target.departmentId!;
  const [st] = await findStudies(ctx, keyring, departmentId, { studyUids: [studyUid] }, 1);
  if (!st) throw new KarteiError('not-found', 'studyUid: no such study', { field: 'studyUid' });
  const department = await ctx.tx
    .selectFrom('departments')
    .select(['id', 'code', 'name'])
    .where('id', '=', departmentId)
    .where('tenant_id', '=', tenantId)
    .executeTakeFirstOrThrow();
  // The file's data only where the caller may read the file itself (an API token for DICOMweb alone may not).
  const person = st.personId && ctx.may('person.read') ? await persons.get(ctx, st.personId) : null;
  ctx.audit.detail = { banner: true };
  return {
    studyUid: st.studyUid,
    studyDate: st.studyDate,
    studyTime: st.studyTime,
    description: st.study.description,
    modalities: st.modalities,
    department,
    linked: st.personId !== null,
    person: person && {
      id: person.id,
      familyName: person.familyName,
      givenName: person.givenName,
      birthDate: person.birthDate,
    },
    patient: header(st),
  };
}
