// Single sign-on with the office's OpenID provider (src/identity/sso.ts says how
// it is made safe): whether it exists, the start and the callback of a sign-on,
// the one-time hand-over of the new session's CSRF token, linking the own
// identity, and the office's configuration for its admins.
import { servedOverHttps } from '../../config/config.ts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services.ts';
import { KarteiError } from '../../errors.ts';
import {
  issuerProblem,
  readSsoSettings,
  SSO_COOKIE,
  SSO_COOKIE_PATH,
  SSO_FLOW_MS,
  subjectClaimProblem,
  writeSsoSettings,
} from '../../identity/sso.ts';
import { gated, principalOf } from '../access.ts';
import { setSessionCookie } from '../session-cookie.ts';
import { checkedBy, id, NO_NUL } from '../schemas.ts';
import { noContent } from '../../contract/common.ts';
import { ssoAvailable, ssoLink, ssoSettings } from '../../contract/identity.ts';
// Issue 19: offices — each office signs on at its own address (sso.ts says how).
import { addressUrl, hostAt, officeAddresses } from '../../identity/office-address.ts';

const claimValue = z
  .string()
  .trim()
  .min(1)
  .max(200)
  .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces');

export function ssoRoutes(app: FastifyInstance, s: Services) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const secure = servedOverHttps(s.config);
  const tenant = { kind: 'tenant' } as const;
  const addressOf = (req: FastifyRequest) => officeAddresses(s.store).at(req.hostname);

  const setBrowserCookie = (reply: FastifyReply, value: string) =>
    reply.setCookie(SSO_COOKIE, value, {
      path: SSO_COOKIE_PATH,
      httpOnly: true,
      sameSite: 'lax',
      secure,
      maxAge: SSO_FLOW_MS / 1000,
    });

  r.get(
    '/api/auth/sso',
    {
      config: { access: { public: 'whether single sign-on exists at this address: one boolean, nothing else' } },
      schema: { response: { 200: ssoAvailable } },
    },
    async (req) => ({
      available: await s.sso.available(await addressOf(req)),
    }),
  );

  r.get(
    '/api/auth/sso/start',
    {
      config: {
        access: { public: "starts a sign-on at the office's identity provider; a single-use, browser-bound flow" },
        answers: { raw: '302: a redirect to the identity provider' },
      },
      schema: { querystring: z.strictObject({ office: id.optional() }) },
    },
    async (req, reply) => {
      const started = await s.sso.start(req.query.office, req.ip, undefined, await addressOf(req));
      setBrowserCookie(reply, started.browserToken);
      return reply.redirect(started.location, 302);
    },
  );

  r.get(
    '/api/auth/sso/callback',
    {
      config: {
        access: {
          public:
            "the identity provider's redirect back; guarded by the state, the browser cookie, PKCE and the ID token",
        },
        answers: { raw: '302: a redirect into the web application' },
      },
    },
    async (req, reply) => {
      const query = new URL(req.url, 'http://callback.invalid').searchParams;
      const browser = req.cookies[SSO_COOKIE];
      reply.clearCookie(SSO_COOKIE, { path: SSO_COOKIE_PATH, httpOnly: true, sameSite: 'lax', secure });
      // Back into the web application at the address the callback came to: the flow's office's (checked).
      const at = await addressOf(req);
      const web = addressUrl(s.config.publicUrl, hostAt(at));
      try {
        const outcome = await s.sso.callback(query, browser, req.ip, at);
        if (outcome.kind === 'session') {
          setSessionCookie(reply, outcome.token, secure, false);
          return reply.redirect(`${web}/sso`, 302);
        }
        if (outcome.kind === 'challenge') return reply.redirect(`${web}/sso#challenge=${outcome.challenge}`, 302);
        return reply.redirect(`${web}/account#sso=linked`, 302);
      } catch (e) {
        // A person's browser gets the web application's page with the reason; an API client the problem document.
        if (e instanceof KarteiError && wantsHtml(req)) return reply.redirect(`${web}/sso#error=${e.code}`, 302);
        throw e;
      }
    },
  );

  r.get(
    '/api/auth/sso/session',
    {
      config: { access: { self: 'hands the CSRF token of a session a sign-on just made to that session, once' } },
      schema: { response: { 200: z.strictObject({ csrfToken: z.string() }) } },
    },
    async (req) => s.sso.handover(req.auth!.tokenHash),
  );

  r.get(
    '/api/me/sso',
    {
      config: { access: { self: "whether the own identity at the office's provider is linked" } },
      schema: { response: { 200: ssoLink } },
    },
    async (req) => {
      const p = principalOf(req);
      return s.sso.linked(p.tenantId, p.userId);
    },
  );

  r.post(
    '/api/me/sso',
    {
      config: {
        access: { self: "links the own identity at the office's provider, with a current second-factor code" },
      },
      schema: {
        body: z.strictObject({ code: z.string().min(1).max(12) }),
        response: { 200: z.strictObject({ redirectTo: z.string() }) },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      if (req.auth!.csrfHash === null)
        throw new KarteiError('forbidden', 'An identity is linked in a signed-in session, not with an API token');
      const started = await s.sso.startLink(
        p.tenantId,
        p.userId,
        req.auth!.tokenHash,
        req.body.code,
        req.ip,
        await addressOf(req),
      );
      setBrowserCookie(reply, started.browserToken);
      return { redirectTo: started.location };
    },
  );

  r.delete(
    '/api/me/sso',
    {
      config: { access: { self: "removes the link of the own identity at the office's provider" } },
      schema: { response: { 204: noContent } },
    },
    async (req, reply) => {
      const p = principalOf(req);
      await s.sso.unlink(p.tenantId, p.userId);
      return reply.code(204).send();
    },
  );

  r.get(
    '/api/admin/sso',
    {
      config: { access: { actions: ['admin.sso.read'], resource: 'tenant' } },
      schema: { response: { 200: ssoSettings } },
    },
    async (req) => {
      // The office's own redirect URI: at its address, if it has one.
      const redirectUri = await s.sso.redirectUriOf(principalOf(req).tenantId);
      return gated(s, req, 'admin.sso.read', tenant, (ctx) => readSsoSettings(ctx, redirectUri));
    },
  );

  r.put(
    '/api/admin/sso',
    {
      config: { access: { actions: ['admin.sso.update'], resource: 'tenant' } },
      schema: {
        body: z.strictObject({
          issuer: z
            .string()
            .trim()
            .min(1)
            .max(500)
            .regex(...NO_NUL)
            .superRefine(checkedBy(issuerProblem)),
          clientId: z
            .string()
            .trim()
            .min(1)
            .max(200)
            .regex(...NO_NUL),
          clientSecret: z
            .string()
            .min(1)
            .max(500)
            .regex(...NO_NUL)
            .optional(),
          subjectClaim: z.string().trim().default('sub').superRefine(checkedBy(subjectClaimProblem)),
          acrValues: z.array(claimValue).max(10).default([]),
          amrValues: z.array(claimValue).max(10).default([]),
          enabled: z.boolean().default(true),
        }),
        response: { 200: ssoSettings },
      },
    },
    async (req) => {
      const redirectUri = await s.sso.redirectUriOf(principalOf(req).tenantId);
      return gated(s, req, 'admin.sso.update', tenant, (ctx) =>
        writeSsoSettings(ctx, s.keyring, req.body, redirectUri),
      );
    },
  );
}

const wantsHtml = (req: FastifyRequest) => /text\/html/.test(req.headers.accept ?? '');
