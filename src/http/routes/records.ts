// One record: read, edit on top of a known version, its versions, delete with a reason.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services.ts';
import { gated, gatedRead } from '../access.ts';
import { idParams, reason, sensitivity, version } from '../schemas.ts';
import { noContent } from '../../contract/common.ts';
import { recordUpdated, recordVersion, recordVersionContent, recordView } from '../../contract/records.ts';

export function recordRoutes(app: FastifyInstance, s: Services) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const ref = (recordId: string, sens?: 'normal' | 'restricted') => ({
    kind: 'record' as const,
    recordId,
    sensitivity: sens,
  });

  r.get(
    '/api/records/:id',
    {
      config: { access: { actions: ['record.read'], resource: 'record' } },
      schema: { params: idParams, response: { 200: recordView } },
    },
    async (req) =>
      gatedRead(s, req, 'record.read', ref(req.params.id), async (ctx) => ({
        ...(await s.records.get(ctx, req.params.id)),
        permissions: {
          update: ctx.may('record.update'),
          restrict: ctx.may('record.update', 'restricted'),
          delete: ctx.may('record.delete'),
        },
      })),
  );

  r.put(
    '/api/records/:id',
    {
      config: { access: { actions: ['record.update'], resource: 'record' } },
      schema: {
        params: idParams,
        body: z.strictObject({ content: z.unknown(), sensitivity: sensitivity.optional(), version }),
        response: { 200: recordUpdated },
      },
    },
    async (req) =>
      gated(s, req, 'record.update', ref(req.params.id, req.body.sensitivity), (ctx) =>
        s.records.update(ctx, req.params.id, req.body),
      ),
  );

  r.get(
    '/api/records/:id/versions',
    {
      config: { access: { actions: ['record.versions'], resource: 'record' } },
      schema: {
        params: idParams,
        response: { 200: z.array(recordVersion) },
        description:
          'The versions, newest first: [{version, sensitivity, createdAt, createdBy, createdByName, changes}]. `changes` names the fields ' +
          "(and `sensitivity`) changed against the version before: [] for the first, null where either version is not the caller's to read.",
      },
    },
    async (req) =>
      gatedRead(s, req, 'record.versions', ref(req.params.id), (ctx) => s.records.versions(ctx, req.params.id)),
  );

  // An earlier version's content, for the diff of a change: a record read of that version (decided at its own sensitivity).
  r.get(
    '/api/records/:id/versions/:version',
    {
      config: { access: { actions: ['record.read'], resource: 'record' } },
      schema: {
        params: z.strictObject({ id: idParams.shape.id, version: z.coerce.number().int().min(1).max(1_000_000) }),
        response: { 200: recordVersionContent },
        description:
          'One version of a record: {version, sensitivity, content, createdAt, createdBy, createdByName}; audited as record.read with its version.',
      },
    },
    async (req) =>
      gatedRead(s, req, 'record.read', ref(req.params.id), (ctx) =>
        s.records.version(ctx, req.params.id, req.params.version),
      ),
  );

  r.delete(
    '/api/records/:id',
    {
      config: { access: { actions: ['record.delete'], resource: 'record' } },
      schema: { params: idParams, body: z.strictObject({ reason: reason(5) }), response: { 204: noContent } },
    },
    async (req, reply) => {
      await gated(s, req, 'record.delete', ref(req.params.id), (ctx) =>
        s.records.remove(ctx, req.params.id, req.body.reason),
      );
      return reply.code(204).send();
    },
  );
}
