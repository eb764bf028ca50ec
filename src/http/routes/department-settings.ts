// A department's own rules, set by its head: whether members who may not read
// its restricted records (clerks) see them listed at all. Hidden, a file's
// list shows them neither their type nor their dates. The work is identity/departments.ts's.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services.ts';
import { departmentSettings, setRestrictedListing } from '../../identity/departments.ts';
import { gated } from '../access.ts';
import { idParams } from '../schemas.ts';
import { restrictedListing as listingAnswer } from '../../contract/records.ts';

export function departmentSettingsRoutes(app: FastifyInstance, s: Services) {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get(
    '/api/departments/:id/settings',
    {
      config: { access: { actions: ['department.settings.read'], resource: 'department' } },
      schema: { params: idParams, response: { 200: listingAnswer } },
    },
    async (req) =>
      gated(s, req, 'department.settings.read', { kind: 'department', departmentId: req.params.id }, (ctx) =>
        departmentSettings(ctx),
      ),
  );

  r.put(
    '/api/departments/:id/settings',
    {
      config: { access: { actions: ['department.settings.update'], resource: 'department' } },
      schema: {
        params: idParams,
        body: z.strictObject({ restrictedListing: z.enum(['shown', 'hidden']) }),
        response: { 200: listingAnswer },
      },
    },
    async (req) =>
      gated(s, req, 'department.settings.update', { kind: 'department', departmentId: req.params.id }, (ctx) =>
        setRestrictedListing(ctx, req.body.restrictedListing),
      ),
  );
}
