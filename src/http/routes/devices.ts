// The DICOM device registry, administered by tenant admins.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { isIP } from 'node:net';
import type { Services } from '../../services.ts';
import { DEVICE_PERMISSIONS } from '../../access/policy.ts';
import { listDevices, registerDevice, removeDevice } from '../../imaging/device-registry.ts';
import { AE_TITLE } from '../../imaging/dicom/uids.ts';
import { gated } from '../access.ts';
import { FORMAT_RULES } from '../../errors.ts';
import { id, idParams } from '../schemas.ts';
import { created, noContent } from '../../contract/common.ts';
import { device } from '../../contract/imaging.ts';

const deviceBody = z.strictObject({
  aeTitle: z.string().trim().regex(AE_TITLE, FORMAT_RULES.aeTitle),
  departmentId: id,
  permissions: z.array(z.enum(DEVICE_PERMISSIONS)).min(1).max(DEVICE_PERMISSIONS.length),
  certificate: z.string().max(20_000).optional(),
  host: z
    .string()
    .refine((h) => isIP(h) !== 0 || h === 'localhost', { message: 'an IP address', params: { code: 'not-ip' } })
    .optional(),
  port: z.number().int().min(1).max(65535).optional(),
});

export function deviceRoutes(app: FastifyInstance, s: Services) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tenant = { kind: 'tenant' } as const;

  r.post(
    '/api/admin/devices',
    {
      config: { access: { actions: ['admin.device.create'], resource: 'tenant' } },
      schema: { body: deviceBody, response: { 201: created } },
    },
    async (req, reply) => {
      const deviceId = await gated(s, req, 'admin.device.create', tenant, (ctx) => registerDevice(ctx, req.body));
      return reply.code(201).send({ id: deviceId });
    },
  );

  r.get(
    '/api/admin/devices',
    {
      config: { access: { actions: ['admin.device.list'], resource: 'tenant' } },
      schema: { response: { 200: z.array(device) } },
    },
    async (req) => gated(s, req, 'admin.device.list', tenant, (ctx) => listDevices(ctx)),
  );

  r.delete(
    '/api/admin/devices/:id',
    {
      config: { access: { actions: ['admin.device.remove'], resource: 'device' } },
      schema: { params: idParams, response: { 204: noContent } },
    },
    async (req, reply) => {
      await gated(s, req, 'admin.device.remove', { kind: 'device', deviceId: req.params.id }, (ctx) =>
        removeDevice(ctx, req.params.id),
      );
      return reply.code(204).send();
    },
  );
}
