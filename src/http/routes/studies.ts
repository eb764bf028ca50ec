// A person's images: the studies linked to the file, and linking a study of
// the file's department to it by hand (when it arrived before the file, or
// under another name).
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services.ts';
import { KarteiError, fieldRefused } from '../../errors.ts';
import { findStudies, firstImages } from '../../imaging/study-query.ts';
import { gated } from '../access.ts';
import { id, idParams } from '../schemas.ts';
import { uid } from './dicomweb-params.ts';

/** More studies than a file plausibly has; bounds the answer. */
const MAX_STUDIES = 1_000;

export function studyRoutes(app: FastifyInstance, s: Services) {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get('/api/persons/:id/studies', { config: { access: { actions: ['study.list'], resource: 'person' } }, schema: { params: idParams } }, async (req) =>
    gated(s, req, 'study.list', { kind: 'person', personId: req.params.id }, async (ctx) => {
      const studies = await findStudies(ctx.tx, s.keyring, ctx.principal.tenantId, ctx.target.departmentId!, { personId: req.params.id }, MAX_STUDIES);
      ctx.audit.detail = { count: studies.length };
      const first = await firstImages(ctx.tx, studies.map((st) => st.id));
      return studies.map((st) => ({
        studyUid: st.studyUid,
        studyDate: st.studyDate,
        description: st.study.description,
        modalities: st.modalities,
        seriesCount: st.seriesCount,
        instanceCount: st.instanceCount,
        firstImage: first.get(st.id) ?? null,
      }));
    }),
  );

  r.post(
    '/api/persons/:id/studies/:studyUid',
    {
      config: { access: { actions: ['study.link'], resource: 'person' } },
      schema: { params: z.strictObject({ id, studyUid: uid }) },
    },
    async (req) =>
      gated(s, req, 'study.link', { kind: 'person', personId: req.params.id }, async (ctx) => {
        const study = await ctx.tx
          .selectFrom('studies')
          .select(['id', 'person_id'])
          .where('tenant_id', '=', ctx.principal.tenantId)
          .where('department_id', '=', ctx.target.departmentId!)
          .where('study_uid', '=', req.params.studyUid)
          .executeTakeFirst();
        if (!study) throw new KarteiError('not-found', 'studyUid: no such study in this file\'s department', { field: 'studyUid' });
        if (study.person_id && study.person_id !== req.params.id) throw fieldRefused('conflict', 'studyUid', 'study-other-file', 'the study belongs to another file');
        await ctx.tx.updateTable('studies').set({ person_id: req.params.id, updated_at: ctx.now }).where('id', '=', study.id).execute();
        ctx.audit.detail = { studyId: study.id };
        return { studyUid: req.params.studyUid, personId: req.params.id };
      }),
  );
}
