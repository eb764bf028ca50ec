// The gate: the only way to personal data. In one transaction it resolves the
// resource, asks the policy, runs the work if allowed, and appends the audit
// event; if the event cannot be written the whole transaction, and so the
// access, is undone. Denials are audited too, then answered 404 or 403.
import { inTenantRead, inTenantTransaction, type Store, type Tx } from '../db/connect.ts';
import { KarteiError } from '../errors.ts';
import type { AuditEvent, AuditLog } from '../audit/audit-log.ts';
import {
  ACTION_SCOPE,
  decide,
  tokenCovers,
  type Action,
  type Principal,
  type Resource,
  type Sensitivity,
} from './policy.ts';
import { resolve, type Resolved, type ResourceRef } from './resolve.ts';

export interface GateContext {
  readonly tx: Tx;
  readonly principal: Principal;
  readonly target: Resolved;
  readonly now: string;
  /**
   * Whether the policy allows `action` on this same resource (for a file: at
   * `sensitivity`, if given): what a screen may offer. It accesses nothing.
   */
  may(action: Action, sensitivity?: Sensitivity): boolean;
  /**
   * Decides `action` on a second resource in this same transaction (a merge's other file): resolves it,
   * asks the policy and refuses like the gate (404 hidden, 403 forbidden). Audited on that resource too:
   * allowed with this event's detail when the work succeeds, denied or failed when it does not.
   */
  also(action: Action, ref: ResourceRef): Promise<Resolved>;
  /** Details for the audit event (free text is encrypted, `detail` must be non-personal). */
  audit: {
    reason?: string;
    detail?: Record<string, string | number | boolean>;
    personId?: string;
    resourceId?: string;
    /** Files a list or search showed: each gets its own event, so a citizen's access report names it. */
    hits?: { personId: string; departmentId: string }[];
  };
}

/**
 * The department the gate decided on: a domain function that works on "this department" reads it
 * here, never from an argument a caller could set apart from what was decided.
 */
export function decidedDepartment(ctx: GateContext): string {
  const r = ctx.target.resource;
  if (r.kind !== 'department') throw new Error(`the gate decided on a ${r.kind}, not a department`);
  return r.departmentId;
}

/** The person whose file the gate decided on (a file action). */
export function decidedPerson(ctx: GateContext): string {
  if (ctx.target.resource.kind !== 'file' || ctx.target.personId === null)
    throw new Error(`the gate decided on a ${ctx.target.resource.kind}, not a person's file`);
  return ctx.target.personId;
}

export class Gate {
  private readonly store: Store;
  private readonly auditLog: AuditLog;
  constructor(store: Store, auditLog: AuditLog) {
    this.store = store;
    this.auditLog = auditLog;
  }

  async run<T>(
    principal: Principal,
    action: Action,
    ref: ResourceRef,
    work: (ctx: GateContext) => Promise<T>,
  ): Promise<T> {
    const now = new Date().toISOString();
    let denial: KarteiError | undefined;
    let audited: GateContext['audit'] = {};
    let resolved: Resolved | null = null;
    /** The second resources decided inside the work (`ctx.also`). */
    const seconds: Second[] = [];
    try {
      const result = await inTenantTransaction(this.store, principal.tenantId, async (tx) => {
        const target = await resolve(tx, principal, ref, now);
        resolved = target;
        const decision = target ? decide(principal, action, target.resource) : 'hidden';
        if (decision !== 'allow') {
          const scope = decision === 'forbidden' && !tokenCovers(principal, action) ? ACTION_SCOPE[action] : undefined;
          denial = refusalOf(principal, action, decision);
          await this.record(
            tx,
            principal,
            action,
            ref,
            target,
            'denied',
            scope === undefined ? {} : { detail: { missingScope: scope ?? 'session' } },
          );
          return undefined;
        }
        const ctx = contextOf(tx, principal, target!, now, async (a, r) => {
          const t = await resolve(tx, principal, r, now);
          const d = t ? decide(principal, a, t.resource) : 'hidden';
          seconds.push({ action: a, ref: r, target: t, outcome: d === 'allow' ? 'allowed' : 'denied' });
          if (d !== 'allow') throw new KarteiError(d === 'hidden' ? 'not-found' : 'forbidden');
          return t!;
        });
        audited = ctx.audit;
        const value = await work(ctx);
        await this.record(tx, principal, action, ref, target, 'allowed', ctx.audit);
        // A second the work was refused and went on without (an import row refused alone) is on record as denied.
        for (const second of seconds)
          await this.record(tx, principal, second.action, second.ref, second.target, second.outcome, {
            reason: ctx.audit.reason,
            detail: ctx.audit.detail,
          });
        for (const hit of ctx.audit.hits ?? []) {
          const shown: Resolved = { resource: { kind: 'tenant' }, resourceId: hit.personId, ...hit };
          await this.record(tx, principal, action, { kind: 'person', personId: hit.personId }, shown, 'allowed', {});
        }
        return value;
      });
      if (denial) throw denial;
      return result as T;
    } catch (e) {
      if (e === denial) throw e;
      await this.recordError(principal, action, ref, resolved, audited, e, seconds);
      throw e;
    }
  }

  /**
   * As `run`, for work that only reads (the connection it gets is read-only on SQLite): the resource is
   * resolved, decided and read in one read transaction, not queued behind other requests' writes, and
   * its event is appended in a transaction of its own (`AuditLog.appendAlone`: on SQLite off the event
   * loop). Nothing is answered before that event is on disk; if it cannot be written, the read is
   * refused (`AuditWriteError`) as in `run`. The work may not decide a second resource (`ctx.also`).
   * Without a read connection of its own (PostgreSQL) it is `run`.
   */
  async read<T>(
    principal: Principal,
    action: Action,
    ref: ResourceRef,
    work: (ctx: GateContext) => Promise<T>,
  ): Promise<T> {
    // Without a connection of its own for reads (PostgreSQL: a pool), one transaction for both is cheaper.
    if (!this.store.reader) return this.run(principal, action, ref, work);
    const now = new Date().toISOString();
    let denial: KarteiError | undefined;
    let audited: GateContext['audit'] = {};
    let resolved: Resolved | null = null;
    let value: T | undefined;
    try {
      value = await inTenantRead(this.store, principal.tenantId, async (tx) => {
        const target = await resolve(tx, principal, ref, now);
        resolved = target;
        const decision = target ? decide(principal, action, target.resource) : 'hidden';
        if (decision !== 'allow') {
          denial = refusalOf(principal, action, decision);
          return undefined;
        }
        const ctx = contextOf(tx, principal, target!, now, () => {
          throw new Error(`Gate.read: ${action} may not decide a second resource`);
        });
        audited = ctx.audit;
        return work(ctx);
      });
    } catch (e) {
      await this.recordError(principal, action, ref, resolved, audited, e);
      throw e;
    }
    const scope = denial?.code === 'token-scope' ? ACTION_SCOPE[action] : undefined;
    const events = denial
      ? [
          this.event(
            principal,
            action,
            ref,
            resolved,
            'denied',
            scope === undefined ? {} : { detail: { missingScope: scope ?? 'session' } },
          ),
        ]
      : [
          this.event(principal, action, ref, resolved, 'allowed', audited),
          ...(audited.hits ?? []).map((hit) =>
            this.event(
              principal,
              action,
              { kind: 'person', personId: hit.personId },
              { resource: { kind: 'tenant' }, resourceId: hit.personId, ...hit },
              'allowed',
              {},
            ),
          ),
        ];
    try {
      await Promise.all(events.map((e) => this.auditLog.appendAlone(e)));
    } catch (e) {
      throw new AuditWriteError(e);
    }
    if (denial) throw denial;
    return value as T;
  }

  private record(
    tx: Tx,
    p: Principal,
    action: Action,
    ref: ResourceRef,
    target: Resolved | null | undefined,
    outcome: 'allowed' | 'denied',
    extra: GateContext['audit'],
  ) {
    return this.auditLog.append(tx, this.event(p, action, ref, target, outcome, extra)).catch((e: unknown) => {
      throw new AuditWriteError(e);
    });
  }

  /** The event of an access the gate decided. */
  private event(
    p: Principal,
    action: Action,
    ref: ResourceRef,
    target: Resolved | null | undefined,
    outcome: 'allowed' | 'denied',
    extra: GateContext['audit'],
  ): AuditEvent {
    return {
      tenantId: p.tenantId,
      actorId: p.userId,
      action,
      resourceType: ref.kind,
      resourceId: extra.resourceId ?? target?.resourceId ?? refId(ref),
      personId: extra.personId ?? target?.personId ?? null,
      departmentId: target?.departmentId ?? null,
      outcome,
      reason: extra.reason,
      detail: viaOf(p, extra.detail),
    };
  }

  /** The work failed and was rolled back; record that it was attempted. */
  private async recordError(
    p: Principal,
    action: Action,
    ref: ResourceRef,
    target: Resolved | null,
    extra: GateContext['audit'],
    e: unknown,
    seconds: Second[] = [],
  ) {
    if (e instanceof AuditWriteError) return;
    const code = e instanceof KarteiError ? e.code : 'internal-error';
    try {
      await inTenantTransaction(this.store, p.tenantId, async (tx) => {
        await this.auditLog.append(tx, {
          tenantId: p.tenantId,
          actorId: p.userId,
          action,
          resourceType: ref.kind,
          resourceId: target?.resourceId ?? refId(ref),
          personId: extra.personId ?? target?.personId ?? null,
          departmentId: target?.departmentId ?? null,
          outcome: 'error',
          detail: viaOf(p, { code }),
        });
        // A second resource decided inside the work: refused there, or allowed but the work failed.
        for (const s of seconds)
          await this.auditLog.append(tx, {
            tenantId: p.tenantId,
            actorId: p.userId,
            action: s.action,
            resourceType: s.ref.kind,
            resourceId: s.target?.resourceId ?? refId(s.ref),
            personId: s.target?.personId ?? null,
            departmentId: s.target?.departmentId ?? null,
            outcome: s.outcome === 'denied' ? 'denied' : 'error',
            detail: viaOf(p, s.outcome === 'denied' ? {} : { code }),
          });
      });
    } catch {
      // The request fails anyway and nothing was accessed.
    }
  }
}

/** The context the gate hands the work of an allowed access (`also`: how it decides a second resource). */
function contextOf(
  tx: Tx,
  principal: Principal,
  target: Resolved,
  now: string,
  also: GateContext['also'],
): GateContext {
  return {
    tx,
    principal,
    target,
    now,
    audit: {},
    may: (a, sensitivity) => decide(principal, a, atSensitivity(target.resource, sensitivity)) === 'allow',
    also,
  };
}

/** The refusal of a denied access: forbidden for want of a scope (never hidden: that the owner may not see it either stays a 404). */
function refusalOf(p: Principal, action: Action, decision: 'hidden' | 'forbidden'): KarteiError {
  const scope = decision === 'forbidden' && !tokenCovers(p, action) ? ACTION_SCOPE[action] : undefined;
  if (scope === undefined) return new KarteiError(decision === 'hidden' ? 'not-found' : 'forbidden');
  return new KarteiError(
    'token-scope',
    scope
      ? `This API token lacks the scope ${scope}; create a token with it`
      : 'This is done in a signed-in session, not with an API token',
  );
}

/** A second resource the work decided on (`GateContext.also`), and how. */
interface Second {
  action: Action;
  ref: ResourceRef;
  target: Resolved | null;
  outcome: 'allowed' | 'denied';
}

/** The audit event could not be written: the access is undone and refused (its cause kept: a full disk is `storage-full`). */
export class AuditWriteError extends KarteiError {
  override readonly cause: unknown;
  constructor(cause: unknown) {
    super('audit-unavailable');
    this.cause = cause;
  }
}

/**
 * A token's use is on the record as such, with the token's id, in every event the
 * gate writes for it (the one place all data access passes): the DPO tells a script's
 * access from its owner's session, and which token it was.
 */
export function viaOf(
  p: Principal,
  detail: Record<string, string | number | boolean> | undefined,
): Record<string, string | number | boolean> | undefined {
  return p.token ? { ...detail, via: 'token', tokenId: p.token.tokenId } : detail;
}

const atSensitivity = (r: Resource, sensitivity: Sensitivity | undefined): Resource =>
  sensitivity && r.kind === 'file' ? { ...r, sensitivity } : r;

function refId(ref: ResourceRef): string | null {
  switch (ref.kind) {
    case 'person':
      return ref.personId;
    case 'record':
      return ref.recordId;
    case 'share':
      return ref.shareId;
    case 'review':
      return ref.reviewId;
    case 'emergency-hit':
      return ref.hitId;
    case 'department':
      return ref.departmentId;
    case 'user':
      return ref.userId;
    case 'approval':
      return ref.approvalId;
    case 'device':
      return ref.deviceId;
    case 'study':
      return ref.studyUid;
    case 'transmission':
      return ref.transmissionId;
    case 'tenant':
      return null;
    case 'installation':
      return null;
    // Issue 16: inbox
    case 'notification':
      return ref.notificationId;
    case 'quarantine':
      return ref.quarantineId;
    case 'outbreak':
      return ref.outbreakId;
    case 'person-merge':
      return ref.mergeId;
    // Issue 17: documents
    case 'document':
    case 'mailroom-item':
      return ref.documentId;
    // Issue 17: tasks
    case 'task':
      return ref.taskId;
    // Issue 17: letters
    case 'letter-template':
      return ref.templateId;
    case 'letter-run':
      return ref.runId;
    // Issue 17: import
    case 'import':
      return ref.importId;
  }
}
