// The account lifecycle: enrolment links (the person sets their password),
// changing one's own password, reset links for lost credentials, and the
// approvals a second account gives to grants and resets.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services.ts';
import { decideApproval, listDecidable } from '../../identity/approvals.ts';
import { issueApprovedLink } from '../../identity/enrolment.ts';
import { requestReset } from '../../identity/account-admin.ts';
import { gated, principalOf } from '../access.ts';
import { idParams, password } from '../schemas.ts';
import { KarteiError } from '../../errors.ts';
// Issue 19: offices
import { officeAddresses } from '../../identity/office-address.ts';
import { noContent } from '../../contract/common.ts';
import { approvalDecided, approvalView, enrolmentLink } from '../../contract/identity.ts';

export function accountRoutes(app: FastifyInstance, s: Services) {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post(
    '/api/auth/enrol',
    {
      config: { access: { public: 'sets the own password with a one-time enrolment link, guarded by its token' } },
      schema: { body: z.strictObject({ token: z.string().min(1).max(200), password }), response: { 204: noContent } },
    },
    async (req, reply) => {
      // Issue 19: offices — redeemed only at the link's own office's address.
      await s.enrolment.redeem(
        req.body.token,
        req.body.password,
        await officeAddresses(s.store).at(req.hostname, true),
      );
      return reply.code(204).send();
    },
  );

  r.post(
    '/api/me/password',
    {
      config: { access: { self: 'changes the own password, with the current one and a second-factor code' } },
      schema: {
        body: z.strictObject({ currentPassword: password, newPassword: password, code: z.string().min(1).max(12) }),
        response: { 204: noContent },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      // A script's API token never changes the password of the person it belongs to.
      if (req.auth!.csrfHash === null)
        throw new KarteiError('forbidden', 'A password is changed in a signed-in session, not with an API token');
      await s.ownPassword.change(p.tenantId, p.userId, req.auth!.tokenHash, req.body, req.ip);
      return reply.code(204).send();
    },
  );

  r.post(
    '/api/admin/users/:id/enrolment',
    {
      config: { access: { actions: ['admin.user.enrolment-request'], resource: 'user' } },
      schema: { params: idParams, response: { 201: z.strictObject({ approvalId: z.string() }) } },
    },
    async (req, reply) => {
      const approvalId = await gated(
        s,
        req,
        'admin.user.enrolment-request',
        { kind: 'user', userId: req.params.id },
        (ctx) => requestReset(ctx, req.params.id),
      );
      return reply.code(201).send({ approvalId });
    },
  );

  r.get(
    '/api/admin/users/:id/enrolment',
    {
      config: { access: { actions: ['admin.user.enrolment-issue'], resource: 'user' } },
      schema: { params: idParams, response: { 200: enrolmentLink } },
    },
    async (req) => {
      // Issue 19: offices — the link points at the office's own address.
      const url = await officeAddresses(s.store).publicUrl(principalOf(req).tenantId, s.config.publicUrl);
      return gated(s, req, 'admin.user.enrolment-issue', { kind: 'user', userId: req.params.id }, (ctx) =>
        issueApprovedLink(ctx, req.params.id, url),
      );
    },
  );

  r.get(
    '/api/approvals',
    {
      config: { access: { actions: ['approval.list'], resource: 'tenant' } },
      schema: { response: { 200: z.array(approvalView) } },
    },
    async (req) =>
      gated(s, req, 'approval.list', { kind: 'tenant' }, async (ctx) => {
        const items = await listDecidable(ctx, s.keyring);
        ctx.audit.detail = { count: items.length };
        return items;
      }),
  );

  r.post(
    '/api/approvals/:id',
    {
      config: { access: { actions: ['approval.decide'], resource: 'approval' } },
      schema: {
        params: idParams,
        body: z.strictObject({ decision: z.enum(['approve', 'reject']) }),
        response: { 200: approvalDecided },
      },
    },
    async (req) =>
      gated(s, req, 'approval.decide', { kind: 'approval', approvalId: req.params.id }, async (ctx) => {
        const decided = await decideApproval(ctx, req.params.id, req.body.decision);
        return { id: req.params.id, ...decided };
      }),
  );
}
