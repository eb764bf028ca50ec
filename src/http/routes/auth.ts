// First-run setup, login with a second factor, logout, and who-am-I.
import { servedOverHttps } from '../../config/config.ts';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services.ts';
import { inTenantTransaction } from '../../db/connect.ts';
import { endOwnSession, listOwnSessions, revokeSession } from '../../identity/sessions.ts';
import { ownAccount } from '../../identity/users.ts';
import type { LoggedIn } from '../../identity/login.ts';
import { principalOf } from '../access.ts';
import { clearSessionCookie, setSessionCookie } from '../session-cookie.ts';
import { displayName, idParams, NO_NUL, password, username } from '../schemas.ts';
import { authenticationResponse } from '../webauthn-schemas.ts';
import { KarteiError } from '../../errors.ts';
// Issue 19: offices
import { officeAddresses } from '../../identity/office-address.ts';
import { noContent } from '../../contract/common.ts';
import { loggedIn, loginStep, me, ownSession, setupDone } from '../../contract/identity.ts';

/** A second login step: the password step's challenge, the proof, and whether to stay signed in. */
const secondStep = <P extends z.ZodRawShape>(proof: P) =>
  z.strictObject({ challenge: z.string().min(1).max(200), ...proof, remember: z.boolean().optional() });

export function authRoutes(app: FastifyInstance, s: Services) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const secure = servedOverHttps(s.config);

  r.post(
    '/api/setup',
    {
      config: { access: { public: 'first-run setup, guarded by the one-time token' } },
      schema: {
        body: z.strictObject({
          token: z.string().min(1).max(200),
          tenant: z.strictObject({
            name: z
              .string()
              .trim()
              .min(2)
              .max(200)
              .regex(...NO_NUL),
          }),
          admin: z.strictObject({ username, password, displayName }),
        }),
        response: { 201: setupDone },
      },
    },
    // Issue 19: offices — the office is the one at the request's address.
    async (req, reply) =>
      reply.code(201).send(await s.setup.run(req.body, req.ip, await officeAddresses(s.store).at(req.hostname, true))),
  );

  r.post(
    '/api/auth/login',
    {
      config: { access: { public: 'login, throttled and audited' } },
      schema: {
        body: z.strictObject({ username: z.string().min(1).max(200), password }),
        response: { 200: loginStep },
      },
    },
    async (req) =>
      s.login.password(
        req.body.username,
        req.body.password,
        req.ip,
        await officeAddresses(s.store).at(req.hostname, true), // Issue 19: offices
      ),
  );

  r.post(
    '/api/auth/mfa',
    {
      config: { access: { public: 'second login step, guarded by the login challenge' } },
      // code: a TOTP code, or one of the recovery codes given at enrolment (xxxx-xxxx-xxxx).
      // remember (extension): keep the cookie after the browser closes, for the session's 12 hours at most.
      schema: {
        body: secondStep({ code: z.string().min(1).max(20) }),
        response: { 200: loggedIn },
      },
    },
    async (req, reply) =>
      signedIn(
        reply,
        await s.login.secondFactor(
          req.body.challenge,
          req.body.code,
          req.ip,
          await officeAddresses(s.store).at(req.hostname, true),
        ),
        secure,
        req.body.remember,
      ),
  );

  r.post(
    '/api/auth/webauthn',
    {
      config: { access: { public: 'second login step with a passkey, guarded by the login challenge' } },
      // response: the assertion for the `webauthn` options the password step offered.
      schema: {
        body: secondStep({ response: authenticationResponse }),
        response: { 200: loggedIn },
      },
    },
    async (req, reply) =>
      signedIn(
        reply,
        await s.login.passkey(
          req.body.challenge,
          req.body.response,
          req.ip,
          await officeAddresses(s.store).at(req.hostname, true),
        ),
        secure,
        req.body.remember,
      ),
  );

  r.post(
    '/api/auth/logout',
    { config: { access: { self: 'ends the own session' } }, schema: { response: { 204: noContent } } },
    async (req, reply) => {
      const p = principalOf(req);
      await inTenantTransaction(s.store, p.tenantId, async (tx) => {
        await revokeSession(tx, req.auth!.tokenHash);
        await s.audit.append(tx, {
          tenantId: p.tenantId,
          actorId: p.userId,
          action: 'auth.logout',
          resourceType: 'session',
          outcome: 'allowed',
        });
      });
      clearSessionCookie(reply, secure);
      return reply.code(204).send();
    },
  );

  // The own sessions, to see where one is signed in and end what is not one's own doing.
  r.get(
    '/api/me/sessions',
    { config: { access: { self: 'lists the own live sessions' } }, schema: { response: { 200: z.array(ownSession) } } },
    async (req) => {
      const p = principalOf(req);
      return inTenantTransaction(s.store, p.tenantId, (tx) => listOwnSessions(tx, p.userId, req.auth!.tokenHash));
    },
  );

  r.delete(
    '/api/me/sessions/:id',
    {
      config: { access: { self: 'ends one of the own sessions' } },
      schema: { params: idParams, response: { 204: noContent } },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const ended = await inTenantTransaction(s.store, p.tenantId, async (tx) => {
        const e = await endOwnSession(tx, p.userId, req.params.id, req.auth!.tokenHash);
        if (e)
          await s.audit.append(tx, {
            tenantId: p.tenantId,
            actorId: p.userId,
            action: 'auth.session-end',
            resourceType: 'session',
            outcome: 'allowed',
            detail: { current: e.current },
          });
        return e;
      });
      // Another user's session, an ended one or none: the same 404.
      if (!ended) throw new KarteiError('not-found');
      if (ended.current) clearSessionCookie(reply, secure);
      return reply.code(204).send();
    },
  );

  // The office's departments come along (codes and names, no personal data): the web
  // application labels files and offers share targets with them.
  r.get(
    '/api/me',
    {
      config: {
        access: { self: "the own identity and roles, and the names of the office's departments", tokens: true },
      },
      schema: { response: { 200: me } },
    },
    async (req) => {
      const p = principalOf(req);
      const [user, departments] = await inTenantTransaction(s.store, p.tenantId, (tx) =>
        Promise.all([
          ownAccount(tx, s.keyring, p),
          tx
            .selectFrom('departments')
            .select(['id', 'code', 'name'])
            .where('tenant_id', '=', p.tenantId)
            .orderBy('code')
            .execute(),
        ]),
      );
      return {
        id: p.userId,
        username: user.username,
        displayName: user.displayName,
        tenantRoles: p.tenantRoles,
        memberships: p.memberships,
        departments,
      };
    },
  );
}

/** A completed login: the session's cookie set, the answer without the cookie's token. */
function signedIn(reply: FastifyReply, done: LoggedIn, secure: boolean, remember: boolean | undefined) {
  setSessionCookie(reply, done.token, secure, remember === true);
  return {
    user: done.user,
    csrfToken: done.csrfToken,
    ...(done.recoveryCodes ? { recoveryCodes: done.recoveryCodes } : {}),
    ...(done.credentialsReset ? { credentialsReset: done.credentialsReset } : {}),
  };
}
