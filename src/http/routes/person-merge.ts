// Merging two files found to be one person (issue 16): merge another file into this one, a file's
// merges, and confirming (a second physician or head) or undoing a pending merge.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services.ts';
import { gated } from '../access.ts';
import { id, idParams, version } from '../schemas.ts';
import { personMerge, personMerges } from '../../contract/person-merge.ts';

export function personMergeRoutes(app: FastifyInstance, s: Services) {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post(
    '/api/persons/:id/merge',
    {
      config: { access: { actions: ['person.merge'], resource: 'person' } },
      schema: {
        params: idParams,
        body: z.strictObject({ absorbedId: id, survivorVersion: version, absorbedVersion: version }),
        response: { 201: personMerge },
        description:
          'Merges the file `absorbedId` into this one (both of one department, at the versions compared): its records with every ' +
          'version, its cases and studies move here; it answers 410 `person-merged` and leaves search until the merge is undone. ' +
          'Pending until a physician or head who did not merge confirms it.',
      },
    },
    async (req, reply) => {
      const merge = await gated(s, req, 'person.merge', { kind: 'person', personId: req.params.id }, (ctx) =>
        s.merges.merge(ctx, req.body),
      );
      return reply.code(201).send(merge);
    },
  );

  r.get(
    '/api/persons/:id/merges',
    {
      config: { access: { actions: ['person.read'], resource: 'person' } },
      schema: {
        params: idParams,
        response: { 200: personMerges },
        description:
          "The merges the file took part in (kept or absorbed), newest first, with what the caller may do with each; the file's " +
          'live records and linked studies (`counts`, to compare two files); whether the caller may merge another file into it.',
      },
    },
    async (req) =>
      gated(s, req, 'person.read', { kind: 'person', personId: req.params.id }, async (ctx) => ({
        ...(await s.merges.list(ctx, req.params.id)),
        mayMerge: ctx.may('person.merge'),
      })),
  );

  r.post(
    '/api/person-merges/:id/confirm',
    {
      config: { access: { actions: ['person.merge-confirm'], resource: 'person-merge' } },
      schema: { params: idParams, body: z.strictObject({ version }), response: { 200: personMerge } },
    },
    async (req) =>
      gated(s, req, 'person.merge-confirm', { kind: 'person-merge', mergeId: req.params.id }, (ctx) =>
        s.merges.confirm(ctx, req.params.id, req.body.version),
      ),
  );

  r.post(
    '/api/person-merges/:id/undo',
    {
      config: { access: { actions: ['person.merge-undo'], resource: 'person-merge' } },
      schema: { params: idParams, body: z.strictObject({ version }), response: { 200: personMerge } },
    },
    async (req) =>
      gated(s, req, 'person.merge-undo', { kind: 'person-merge', mergeId: req.params.id }, (ctx) =>
        s.merges.undo(ctx, req.params.id, req.body.version),
      ),
  );
}
