// Tenant administration: departments and staff accounts. Grants no access to
// any file's contents; nobody changes their own roles or memberships, and
// what an administrator grants waits for a second account (identity/approvals.ts).
// Accounts get no password from here: the person sets it with an enrolment link.
// The work is the domain's (identity/departments.ts, identity/account-admin.ts):
// these routes parse, pass it through the gate and answer.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services.ts';
import { changesAccess, createAccount, listAccounts, updateAccount } from '../../identity/account-admin.ts';
import { createDepartment, listDepartments } from '../../identity/departments.ts';
import { gated, principalOf } from '../access.ts';
// Issue 19: offices
import { officeAddresses } from '../../identity/office-address.ts';
import { displayName, idParams, memberships, NO_NUL, tenantRoles, username } from '../schemas.ts';
import { created, department } from '../../contract/common.ts';
import { userCreated, userView } from '../../contract/identity.ts';

export function adminRoutes(app: FastifyInstance, s: Services) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tenant = { kind: 'tenant' } as const;

  r.post(
    '/api/admin/departments',
    {
      config: { access: { actions: ['admin.department.create'], resource: 'tenant' } },
      schema: {
        body: z.strictObject({
          code: z
            .string()
            .trim()
            .min(1)
            .max(32)
            .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only'),
          name: z
            .string()
            .trim()
            .min(1)
            .max(200)
            .regex(...NO_NUL),
        }),
        response: { 201: created },
      },
    },
    async (req, reply) => {
      const id = await gated(s, req, 'admin.department.create', tenant, (ctx) =>
        createDepartment(ctx, s.keyring, req.body),
      );
      return reply.code(201).send({ id });
    },
  );

  r.get(
    '/api/admin/departments',
    {
      config: { access: { actions: ['admin.department.list'], resource: 'tenant' } },
      schema: { response: { 200: z.array(department) } },
    },
    async (req) => gated(s, req, 'admin.department.list', tenant, (ctx) => listDepartments(ctx)),
  );

  r.post(
    '/api/admin/users',
    {
      config: { access: { actions: ['admin.user.create'], resource: 'tenant' } },
      // No password: the person chooses it with the enrolment link (a `password` member answers 422).
      schema: {
        body: z.strictObject({
          username,
          displayName,
          tenantRoles: tenantRoles.default([]),
          memberships: memberships.default([]),
        }),
        response: { 201: userCreated },
      },
    },
    async (req, reply) => {
      // Issue 19: offices — the enrolment link points at the office's own address.
      const url = await officeAddresses(s.store).publicUrl(principalOf(req).tenantId, s.config.publicUrl);
      const created = await gated(s, req, 'admin.user.create', tenant, (ctx) =>
        createAccount(ctx, s.keyring, req.body, url),
      );
      return reply.code(201).send(created);
    },
  );

  r.get(
    '/api/admin/users',
    {
      config: { access: { actions: ['admin.user.list'], resource: 'tenant' } },
      schema: { response: { 200: z.array(userView) } },
    },
    async (req) => gated(s, req, 'admin.user.list', tenant, (ctx) => listAccounts(ctx, s.keyring)),
  );

  r.patch(
    '/api/admin/users/:id',
    {
      config: { access: { actions: ['admin.user.update', 'admin.user.update-access'], resource: 'user' } },
      schema: {
        params: idParams,
        body: z.strictObject({
          displayName: displayName.optional(),
          active: z.boolean().optional(),
          tenantRoles: tenantRoles.optional(),
          memberships: memberships.optional(),
        }),
        response: { 200: userView },
      },
    },
    async (req) => {
      const action = changesAccess(req.body) ? 'admin.user.update-access' : 'admin.user.update';
      return gated(s, req, action, { kind: 'user', userId: req.params.id }, (ctx) =>
        updateAccount(ctx, s.keyring, req.params.id, req.body),
      );
    },
  );
}
