// The §11 IfSG transmission of a department (issue 16): its settings (district code, recipient),
// what the next transmission would contain, making one, the log, and downloading a file again —
// the same bytes every time, with their SHA-256. For the department's physicians and head, in a
// signed-in session (no token). The work is src/infection/transmission*.ts's.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Services } from '../../services.ts';
import {
  transmissionCreated,
  transmissionList,
  transmissionPayload,
  type TransmissionPayload,
  transmissionPreview,
  transmissionSettings,
} from '../../contract/infection-transmission.ts';
import { readSettings, settingsInput, updateSettings } from '../../infection/transmission-settings.ts';
import { gated } from '../access.ts';
import { idParams } from '../schemas.ts';

export function transmissionRoutes(app: FastifyInstance, s: Services) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const department = (id: string) => ({ kind: 'department' as const, departmentId: id });

  r.get(
    '/api/departments/:id/transmission-settings',
    {
      config: { access: { actions: ['transmission.settings.read'], resource: 'department' } },
      schema: { params: idParams, response: { 200: transmissionSettings } },
    },
    async (req) =>
      gated(s, req, 'transmission.settings.read', department(req.params.id), (ctx) => readSettings(ctx, s.keyring)),
  );

  r.put(
    '/api/departments/:id/transmission-settings',
    {
      config: { access: { actions: ['transmission.settings.update'], resource: 'department' } },
      schema: { params: idParams, body: settingsInput, response: { 200: transmissionSettings } },
    },
    async (req) =>
      gated(s, req, 'transmission.settings.update', department(req.params.id), (ctx) =>
        updateSettings(ctx, s.keyring, req.body),
      ),
  );

  r.get(
    '/api/departments/:id/transmissions/preview',
    {
      config: { access: { actions: ['transmission.preview'], resource: 'department' } },
      schema: { params: idParams, response: { 200: transmissionPreview } },
    },
    async (req) =>
      gated(s, req, 'transmission.preview', department(req.params.id), (ctx) => s.transmissions.preview(ctx)),
  );

  r.post(
    '/api/departments/:id/transmissions',
    {
      config: { access: { actions: ['transmission.create'], resource: 'department' } },
      schema: { params: idParams, response: { 201: transmissionCreated } },
    },
    async (req, reply) => {
      const made = await gated(s, req, 'transmission.create', department(req.params.id), (ctx) =>
        s.transmissions.create(ctx),
      );
      return reply.code(201).send(made);
    },
  );

  r.get(
    '/api/departments/:id/transmissions',
    {
      config: { access: { actions: ['transmission.list'], resource: 'department' } },
      schema: { params: idParams, response: { 200: transmissionList } },
    },
    async (req) =>
      gated(s, req, 'transmission.list', department(req.params.id), async (ctx) => ({
        items: await s.transmissions.list(ctx),
      })),
  );

  r.get(
    '/api/transmissions/:id',
    {
      config: { access: { actions: ['transmission.read'], resource: 'transmission' } },
      // The file is JSON after this schema (docs/transmission-11.schema.json); its stored bytes are sent
      // as they are (a Buffer is not serialised again), so every download is the same bytes.
      schema: { params: idParams, response: { 200: transmissionPayload } },
    },
    async (req, reply) => {
      const file = await gated(
        s,
        req,
        'transmission.read',
        { kind: 'transmission', transmissionId: req.params.id },
        (ctx) => s.transmissions.download(ctx, req.params.id),
      );
      const name = `ifsg11-${file.districtCode}-${String(file.sequence).padStart(4, '0')}.json`;
      return (
        reply
          .header('cache-control', 'no-store')
          .header('content-disposition', `attachment; filename="${name}"`)
          .header('repr-digest', `sha-256=:${Buffer.from(file.sha256, 'hex').toString('base64')}:`)
          .type('application/json; charset=utf-8')
          // The stored bytes, not an object serialised anew: the schema above describes them (checked when they were made).
          .send(file.bytes as unknown as TransmissionPayload)
      );
    },
  );
}
