// Every route declares what it does and to what. The server refuses to start
// with a route that does not; a request is authenticated (and CSRF-checked)
// before its handler runs; a handler reaches the gate only with an action it
// declared.
import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import type { Action } from '../access/policy.ts';
import { AuditWriteError, viaOf, type GateContext } from '../access/gate.ts';
import { inTenantTransaction } from '../db/connect.ts';
import type { ResourceKind, ResourceRef } from '../access/resolve.ts';
import { authenticate, csrfMatches, type Authenticated } from '../identity/sessions.ts';
import { authenticateApiToken } from '../identity/api-tokens.ts';
import { KarteiError } from '../errors.ts';
import type { Services } from '../services.ts';
import { auditRefusedRequest } from './refused-requests.ts';
// Issue 19: offices
import { officeAddresses } from '../identity/office-address.ts';

export const SESSION_COOKIE = 'kartei_session';

export type AccessDeclaration =
  /** Reaches data only through the gate, with these actions on this kind of resource. */
  | { actions: readonly Action[]; resource: ResourceKind }
  /**
   * Needs a session but touches only the caller's own session or identity. An API token
   * may call it only if `tokens` says so (its use is then audited as `auth.token-use`);
   * managing tokens, sessions and the password is for a signed-in session.
   */
  | { self: string; tokens?: true }
  /** No session (setup, login, health); says why it may be public. */
  | { public: string };

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: AccessDeclaration;
  }
  interface FastifyRequest {
    auth: Authenticated | null;
  }
}

export class UndeclaredRouteError extends Error {}

export function assertDeclared(route: RouteOptions): void {
  const a = route.config?.access;
  const ok =
    a !== undefined &&
    (('actions' in a && a.actions.length > 0 && !!a.resource) ||
      ('self' in a && !!a.self) ||
      ('public' in a && !!a.public));
  if (!ok) {
    throw new UndeclaredRouteError(
      `Route ${route.method} ${route.url} does not declare its action and resource (config.access); refusing to start`,
    );
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function registerAccess(app: FastifyInstance, services: Services): void {
  app.decorateRequest('auth', null);
  app.addHook('onRoute', (route) => assertDeclared(route));
  app.addHook('onRequest', async (req) => {
    const access = req.routeOptions.config?.access;
    if (!access) throw new KarteiError('not-found'); // Fastify's own 404 route
    if ('public' in access) return;
    const auth = await authenticateRequest(services, req);
    if (!auth) throw new KarteiError('unauthenticated');
    // Issue 19: offices — a session or token counts only at its own office's address.
    if (!(await officeAddresses(services.store).admits(auth.principal.tenantId, req.hostname)))
      throw new KarteiError('unauthenticated');
    if (!SAFE_METHODS.has(req.method) && !csrfMatches(auth, req.headers['x-csrf-token'] as string | undefined)) {
      await auditRefusedRequest(services, req, 'csrf-missing', auth.principal);
      throw new KarteiError('csrf-missing', 'Send the X-CSRF-Token header returned at login');
    }
    req.auth = auth;
    if ('self' in access && auth.principal.token) await selfWithToken(services, req, access);
  });
}

/**
 * A token on a route of the own account: audited as the token's use (the gate does that for
 * data routes), and refused unless the route admits tokens.
 */
async function selfWithToken(
  services: Services,
  req: FastifyRequest,
  access: { self: string; tokens?: true },
): Promise<void> {
  const p = req.auth!.principal;
  try {
    await inTenantTransaction(services.store, p.tenantId, (tx) =>
      services.audit.append(tx, {
        tenantId: p.tenantId,
        actorId: p.userId,
        action: 'auth.token-use',
        resourceType: 'api-token',
        resourceId: p.token!.tokenId,
        outcome: access.tokens ? 'allowed' : 'denied',
        detail: viaOf(p, { method: req.method, route: req.routeOptions.url ?? '' }),
      }),
    );
  } catch (e) {
    throw new AuditWriteError(e);
  }
  if (!access.tokens)
    throw new KarteiError('token-scope', 'This is done in a signed-in session, not with an API token');
}

/** A bearer API token if the request carries one, else the session cookie. */
function authenticateRequest(services: Services, req: FastifyRequest): Promise<Authenticated | null> | null {
  const bearer = /^Bearer (\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
  if (bearer) return authenticateApiToken(services.store.db, bearer, new Date(), services.principals);
  const token = req.cookies[SESSION_COOKIE];
  return token ? authenticate(services.store.db, token, new Date(), services.principals) : null;
}

/** The authenticated principal of a non-public route. */
export function principalOf(req: FastifyRequest) {
  if (!req.auth) throw new KarteiError('unauthenticated');
  return req.auth.principal;
}

/** Runs `work` through the gate with one of the actions this route declared. */
export function gated<T>(
  services: Services,
  req: FastifyRequest,
  action: Action,
  ref: ResourceRef,
  work: (ctx: GateContext) => Promise<T>,
): Promise<T> {
  declared(req, action, ref);
  return services.gate.run(principalOf(req), action, ref, work);
}

/** As `gated`, for work that only reads (`Gate.read`: a read transaction, its event appended on its own). */
export function gatedRead<T>(
  services: Services,
  req: FastifyRequest,
  action: Action,
  ref: ResourceRef,
  work: (ctx: GateContext) => Promise<T>,
): Promise<T> {
  declared(req, action, ref);
  return services.gate.read(principalOf(req), action, ref, work);
}

function declared(req: FastifyRequest, action: Action, ref: ResourceRef) {
  const access = req.routeOptions.config?.access;
  if (!access || !('actions' in access) || !access.actions.includes(action) || access.resource !== ref.kind) {
    throw new Error(`route ${req.routeOptions.url} used undeclared ${action} on ${ref.kind}`);
  }
}
