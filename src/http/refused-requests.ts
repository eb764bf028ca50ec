// Requests to data routes that are refused before their handler runs are on
// the record too: a state-changing request without the CSRF token (a forged
// request riding on someone's session, or a broken client), and a body or
// query the route refuses (invalid, too large, not JSON). The event names the
// caller, the route and the refusal's code; never the refused input itself.
import type { FastifyError, FastifyRequest } from 'fastify';
import { inTenantTransaction } from '../db/connect.ts';
import type { ErrorCode } from '../errors.ts';
import type { Services } from '../services.ts';
import type { Principal } from '../access/policy.ts';
import { AuditWriteError, viaOf } from '../access/gate.ts';

/** The action of a refused request's event; its `detail.code` says why. */
const REFUSED_ACTION = 'request.refused';

/** Whether Fastify refused the request's input before the handler ran (schema validation, body parsing). */
export function refusedInput(err: unknown): boolean {
  const fe = err as FastifyError | undefined;
  return (
    !!fe &&
    (!!fe.validation ||
      (typeof fe.code === 'string' && fe.code.startsWith('FST_ERR_CTP_')) ||
      fe instanceof SyntaxError)
  );
}

/**
 * Appends the refusal to the caller's office chain, if the route reaches data
 * (declares actions) and the caller is authenticated. A failed write fails the
 * request with audit-unavailable, like any access that cannot be recorded.
 */
export async function auditRefusedRequest(
  s: Services,
  req: FastifyRequest,
  code: ErrorCode,
  p: Principal | undefined = req.auth?.principal,
): Promise<void> {
  const access = req.routeOptions.config?.access;
  if (!access || !('actions' in access) || !p) return;
  const params = (req.params ?? {}) as Record<string, unknown>;
  const named = Object.values(params).find((v): v is string => typeof v === 'string');
  try {
    await inTenantTransaction(s.store, p.tenantId, (tx) =>
      s.audit.append(tx, {
        tenantId: p.tenantId,
        actorId: p.userId,
        action: REFUSED_ACTION,
        resourceType: access.resource,
        // Kept in clear only if it is a well-formed id (AuditLog.append hashes anything else).
        resourceId: named ?? null,
        outcome: 'denied',
        detail: viaOf(p, { code, method: req.method, route: req.routeOptions.url ?? '' }),
      }),
    );
  } catch (e) {
    throw new AuditWriteError(e);
  }
}
