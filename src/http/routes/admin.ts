// Tenant administration: departments and staff accounts. Grants no access to
// any file's contents; nobody changes their own roles or memberships, and
// what an administrator grants waits for a second account (identity/approvals.ts).
// Accounts get no password from here: the person sets it with an enrolment link.
import { tokenCovers } from '../../access/policy.ts';
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services.ts';
import { KarteiError, fieldRefused } from '../../errors.ts';
import { createUser, getUser, listUsers, userBinding, type UserView } from '../../identity/users.ts';
import { assertNotLastDpo, requestAccess, withPending, type GrantRequest } from '../../identity/approvals.ts';
import { issueLink, startEnrolment } from '../../identity/enrolment.ts';
import { revokeUserSessions } from '../../identity/sessions.ts';
import { revokeUserApiTokens } from '../../identity/api-tokens.ts';
import { sealField } from '../../vault/keyring.ts';
import { gated } from '../access.ts';
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
      const id = await gated(s, req, 'admin.department.create', tenant, async (ctx) => {
        const tenantId = ctx.principal.tenantId;
        const taken = await ctx.tx
          .selectFrom('departments')
          .select('id')
          .where('tenant_id', '=', tenantId)
          .where('code', '=', req.body.code)
          .executeTakeFirst();
        if (taken) throw fieldRefused('conflict', 'code', 'taken', 'a department with this code exists');
        const deptId = randomUUID();
        await ctx.tx
          .insertInto('departments')
          .values({ id: deptId, tenant_id: tenantId, code: req.body.code, name: req.body.name, created_at: ctx.now })
          .execute();
        await s.keyring.createDepartmentKey(ctx.tx, tenantId, deptId);
        ctx.audit.resourceId = deptId;
        return deptId;
      });
      return reply.code(201).send({ id });
    },
  );

  r.get(
    '/api/admin/departments',
    {
      config: { access: { actions: ['admin.department.list'], resource: 'tenant' } },
      schema: { response: { 200: z.array(department) } },
    },
    async (req) =>
      gated(s, req, 'admin.department.list', tenant, (ctx) =>
        ctx.tx
          .selectFrom('departments')
          .select(['id', 'code', 'name'])
          .where('tenant_id', '=', ctx.principal.tenantId)
          .orderBy('code')
          .execute(),
      ),
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
      const created = await gated(s, req, 'admin.user.create', tenant, async (ctx) => {
        const tenantId = ctx.principal.tenantId;
        // Asking for grants is a person's decision in a session (admin.user.update-access), never a token's.
        if (
          !tokenCovers(ctx.principal, 'admin.user.update-access') &&
          (req.body.tenantRoles.length > 0 || req.body.memberships.length > 0)
        ) {
          throw new KarteiError(
            'token-scope',
            'tenantRoles: roles and memberships are asked for in a signed-in session, not with an API token',
            { field: 'tenantRoles' },
          );
        }
        const office = await ctx.tx
          .selectFrom('tenants')
          .select('name')
          .where('id', '=', tenantId)
          .executeTakeFirstOrThrow();
        const userId = await createUser(ctx.tx, s.keyring, tenantId, req.body, office.name);
        const grants = await requestAccess(ctx, userId, req.body.tenantRoles, req.body.memberships);
        const enrolmentId = await startEnrolment(
          ctx.tx,
          tenantId,
          userId,
          ctx.principal.userId,
          'initial',
          null,
          ctx.now,
        );
        const enrolment = await issueLink(ctx.tx, enrolmentId, s.config.publicUrl);
        ctx.audit.resourceId = userId;
        ctx.audit.detail = { ...accessSummary(req.body), ...grantSummary(grants) };
        return { id: userId, enrolment, pendingApprovals: grants.pending };
      });
      return reply.code(201).send(created);
    },
  );

  r.get(
    '/api/admin/users',
    {
      config: { access: { actions: ['admin.user.list'], resource: 'tenant' } },
      schema: { response: { 200: z.array(userView) } },
    },
    async (req) =>
      gated(s, req, 'admin.user.list', tenant, async (ctx) =>
        withPending(ctx.tx, ctx.principal.tenantId, await listUsers(ctx.tx, s.keyring, ctx.principal.tenantId)),
      ),
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
      const b = req.body;
      const changesAccess = b.tenantRoles !== undefined || b.memberships !== undefined || b.active !== undefined;
      const action = changesAccess ? 'admin.user.update-access' : 'admin.user.update';
      return gated(s, req, action, { kind: 'user', userId: req.params.id }, async (ctx) => {
        const tenantId = ctx.principal.tenantId;
        const userId = req.params.id;
        const set: { updated_at: string; display_name_enc?: Buffer; active?: number } = { updated_at: ctx.now };
        if (b.displayName !== undefined) {
          set.display_name_enc = sealField(
            await s.keyring.tenantKey(ctx.tx, tenantId),
            userBinding(tenantId, userId, 'display_name'),
            b.displayName,
          );
        }
        if (b.active === false) await assertNotLastDpo(ctx.tx, tenantId, userId);
        if (b.active !== undefined) set.active = b.active ? 1 : 0;
        const before = changesAccess ? await getUser(ctx.tx, s.keyring, tenantId, userId) : undefined;
        await ctx.tx.updateTable('users').set(set).where('id', '=', userId).execute();
        // What is taken away goes at once; what is added waits for a second account's approval.
        const grants = await requestAccess(ctx, userId, b.tenantRoles, b.memberships);
        if (b.active === false) {
          await revokeUserSessions(ctx.tx, userId);
          await revokeUserApiTokens(ctx.tx, userId);
        }
        const after = await getUser(ctx.tx, s.keyring, tenantId, userId);
        ctx.audit.detail = {
          ...accessSummary(b),
          ...grantSummary(grants),
          ...(b.active !== undefined ? { active: b.active } : {}),
          ...(before ? accessChange(before, after) : {}),
        };
        return withPending(ctx.tx, tenantId, after);
      });
    },
  );
}

/** What an access change granted and revoked, compared with before (ids and role names only), for the DPO. */
function accessChange(before: UserView, after: UserView) {
  const m = (u: UserView) => u.memberships.map((x) => `${x.departmentId}:${x.role}`);
  const diff = (a: string[], b: string[]) => a.filter((x) => !b.includes(x)).join(',');
  const out: Record<string, string> = {};
  const granted = { tenantRoles: diff(after.tenantRoles, before.tenantRoles), memberships: diff(m(after), m(before)) };
  const revoked = { tenantRoles: diff(before.tenantRoles, after.tenantRoles), memberships: diff(m(before), m(after)) };
  if (granted.tenantRoles) out.grantedRoles = granted.tenantRoles;
  if (granted.memberships) out.grantedMemberships = granted.memberships;
  if (revoked.tenantRoles) out.revokedRoles = revoked.tenantRoles;
  if (revoked.memberships) out.revokedMemberships = revoked.memberships;
  return out;
}

/** Which roles and memberships were granted, for the audit event (ids only). */
function accessSummary(b: { tenantRoles?: string[]; memberships?: { departmentId: string; role: string }[] }) {
  const out: Record<string, string> = {};
  if (b.tenantRoles) out.tenantRoles = b.tenantRoles.join(',');
  if (b.memberships) out.memberships = b.memberships.map((m) => `${m.departmentId}:${m.role}`).join(',');
  return out;
}

/** What waits for approval and what took effect at once, for the audit event. */
function grantSummary(g: GrantRequest) {
  return { pendingApprovals: g.pending.length, ...g.applied };
}
