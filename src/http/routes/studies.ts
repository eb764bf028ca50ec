// A person's images: the studies linked to the file; a department's studies
// linked to no file yet, which its physicians link by hand (or take off a file
// again); and what the viewer's banner names: whose study it is.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services.ts';
import type { GateContext } from '../../access/gate.ts';
import { KarteiError, fieldRefused } from '../../errors.ts';
import { findStudies, firstImages, type StudyMatch } from '../../imaging/study-query.ts';
import { isoDate } from '../../imaging/instance-index.ts';
import { parsePersonName } from '../../imaging/dicom/text.ts';
import { gated } from '../access.ts';
import { id, idParams } from '../schemas.ts';
import { uid } from './dicomweb-params.ts';
import { noContent } from '../../contract/common.ts';
import { studyBanner, studyLinked, studySummary, unassignedStudy } from '../../contract/imaging.ts';

/** More studies than a file plausibly has; bounds the answer. */
const MAX_STUDIES = 1_000;
/** The newest unassigned studies of a department shown at once; more wait until these are linked. */
const MAX_UNASSIGNED = 500;

const studyParams = z.strictObject({ id, studyUid: uid });

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
async function listed(
  ctx: GateContext,
  s: Services,
  departmentId: string,
  filter: Parameters<typeof findStudies>[4],
  max: number,
) {
  const studies = await findStudies(ctx.tx, s.keyring, ctx.principal.tenantId, departmentId, filter, max);
  ctx.audit.detail = { count: studies.length };
  const first = await firstImages(
    ctx.tx,
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

export function studyRoutes(app: FastifyInstance, s: Services) {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get(
    '/api/persons/:id/studies',
    {
      config: { access: { actions: ['study.list'], resource: 'person' } },
      schema: { params: idParams, response: { 200: z.array(studySummary) } },
    },
    async (req) =>
      gated(s, req, 'study.list', { kind: 'person', personId: req.params.id }, async (ctx) => {
        // Whether this caller may take a study off the file again.
        const unlink = ctx.may('study.link');
        return (await listed(ctx, s, ctx.target.departmentId!, { personId: req.params.id }, MAX_STUDIES)).map(
          ({ summary }) => ({ ...summary, unlink }),
        );
      }),
  );

  // Linking by hand: the study must be of the file's department and linked to no other file.
  // Two physicians linking one study at once: the update is conditional, so one wins and the other gets 409.
  r.post(
    '/api/persons/:id/studies/:studyUid',
    {
      config: { access: { actions: ['study.link'], resource: 'person' } },
      schema: { params: studyParams, response: { 200: studyLinked } },
    },
    async (req) =>
      gated(s, req, 'study.link', { kind: 'person', personId: req.params.id }, async (ctx) => {
        const study = await studyOfFile(ctx, req.params.studyUid);
        const taken = () =>
          fieldRefused('conflict', 'studyUid', 'study-other-file', 'the study belongs to another file');
        if (study.person_id && study.person_id !== req.params.id) throw taken();
        const moved = await ctx.tx
          .updateTable('studies')
          .set({ person_id: req.params.id, updated_at: ctx.now })
          .where('id', '=', study.id)
          .where((eb) => eb.or([eb('person_id', 'is', null), eb('person_id', '=', req.params.id)]))
          .executeTakeFirst();
        if (Number(moved.numUpdatedRows) !== 1) throw taken();
        ctx.audit.detail = { studyId: study.id };
        return { studyUid: req.params.studyUid, personId: req.params.id };
      }),
  );

  // Taking a study off a file it was wrongly linked to: it goes back to the department's unassigned studies.
  r.delete(
    '/api/persons/:id/studies/:studyUid',
    {
      config: { access: { actions: ['study.link'], resource: 'person' } },
      schema: { params: studyParams, response: { 204: noContent } },
    },
    async (req, reply) => {
      await gated(s, req, 'study.link', { kind: 'person', personId: req.params.id }, async (ctx) => {
        const study = await studyOfFile(ctx, req.params.studyUid);
        const moved = await ctx.tx
          .updateTable('studies')
          .set({ person_id: null, updated_at: ctx.now })
          .where('id', '=', study.id)
          .where('person_id', '=', req.params.id)
          .executeTakeFirst();
        if (Number(moved.numUpdatedRows) !== 1)
          throw new KarteiError('not-found', 'studyUid: the study is not linked to this file', { field: 'studyUid' });
        ctx.audit.detail = { studyId: study.id, unlinked: true };
      });
      return reply.code(204).send();
    },
  );

  // A department's studies that no file claimed: what their DICOM headers say, for a physician to link by hand.
  r.get(
    '/api/departments/:id/unassigned-studies',
    {
      config: { access: { actions: ['study.unassigned'], resource: 'department' } },
      schema: { params: idParams, response: { 200: z.array(unassignedStudy) } },
    },
    async (req) =>
      gated(s, req, 'study.unassigned', { kind: 'department', departmentId: req.params.id }, async (ctx) => {
        return (await listed(ctx, s, req.params.id, { unassigned: true }, MAX_UNASSIGNED)).map(
          ({ summary, match }) => ({ ...summary, patient: header(match) }),
        );
      }),
  );

  // The viewer's banner: whose study this is — the linked file's person, else the DICOM header's — and where it belongs.
  r.get(
    '/api/studies/:studyUid',
    {
      config: { access: { actions: ['study.read'], resource: 'study' } },
      schema: { params: z.strictObject({ studyUid: uid }), response: { 200: studyBanner } },
    },
    async (req) =>
      gated(s, req, 'study.read', { kind: 'study', studyUid: req.params.studyUid }, async (ctx) => {
        const tenantId = ctx.principal.tenantId;
        const departmentId = ctx.target.departmentId!;
        const [st] = await findStudies(
          ctx.tx,
          s.keyring,
          tenantId,
          departmentId,
          { studyUids: [req.params.studyUid] },
          1,
        );
        if (!st) throw new KarteiError('not-found', 'studyUid: no such study', { field: 'studyUid' });
        const department = await ctx.tx
          .selectFrom('departments')
          .select(['id', 'code', 'name'])
          .where('id', '=', departmentId)
          .where('tenant_id', '=', tenantId)
          .executeTakeFirstOrThrow();
        // The file's data only where the caller may read the file itself (an API token for DICOMweb alone may not).
        const person = st.personId && ctx.may('person.read') ? await s.persons.get(ctx, st.personId) : null;
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
      }),
  );
}
