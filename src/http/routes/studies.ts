// A person's images: the studies linked to the file; a department's studies
// linked to no file yet, which its physicians link by hand (or take off a file
// again); and what the viewer's banner names: whose study it is. The work is
// imaging/study-links.ts's: these routes parse, pass it through the gate and answer.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services.ts';
import {
  fileStudies,
  linkStudy,
  studyBanner as banner,
  unassignedStudies,
  unlinkStudy,
} from '../../imaging/study-links.ts';
import { gated } from '../access.ts';
import { id, idParams } from '../schemas.ts';
import { uid } from './dicomweb-params.ts';
import { noContent } from '../../contract/common.ts';
import { studyBanner, studyLinked, studySummary, unassignedStudy } from '../../contract/imaging.ts';

const studyParams = z.strictObject({ id, studyUid: uid });

export function studyRoutes(app: FastifyInstance, s: Services) {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get(
    '/api/persons/:id/studies',
    {
      config: { access: { actions: ['study.list'], resource: 'person' } },
      schema: { params: idParams, response: { 200: z.array(studySummary) } },
    },
    async (req) =>
      gated(s, req, 'study.list', { kind: 'person', personId: req.params.id }, (ctx) =>
        fileStudies(ctx, s.keyring, req.params.id),
      ),
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
      gated(s, req, 'study.link', { kind: 'person', personId: req.params.id }, (ctx) =>
        linkStudy(ctx, req.params.id, req.params.studyUid),
      ),
  );

  // Taking a study off a file it was wrongly linked to: it goes back to the department's unassigned studies.
  r.delete(
    '/api/persons/:id/studies/:studyUid',
    {
      config: { access: { actions: ['study.link'], resource: 'person' } },
      schema: { params: studyParams, response: { 204: noContent } },
    },
    async (req, reply) => {
      await gated(s, req, 'study.link', { kind: 'person', personId: req.params.id }, (ctx) =>
        unlinkStudy(ctx, req.params.id, req.params.studyUid),
      );
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
      gated(s, req, 'study.unassigned', { kind: 'department', departmentId: req.params.id }, (ctx) =>
        unassignedStudies(ctx, s.keyring),
      ),
  );

  // The viewer's banner: whose study this is — the linked file's person, else the DICOM header's — and where it belongs.
  r.get(
    '/api/studies/:studyUid',
    {
      config: { access: { actions: ['study.read'], resource: 'study' } },
      schema: { params: z.strictObject({ studyUid: uid }), response: { 200: studyBanner } },
    },
    async (req) =>
      gated(s, req, 'study.read', { kind: 'study', studyUid: req.params.studyUid }, (ctx) =>
        banner(ctx, s.keyring, s.persons, req.params.studyUid),
      ),
  );
}
