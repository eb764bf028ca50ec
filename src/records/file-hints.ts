// What a file's screen tells its reader besides the file, decided inside the
// same gated read: the reader's own running emergency access to it (so the
// banner with the time left survives a reload; the server, not the browser, knows
// it), and, for a member of the owning department who may not share the file,
// whom to ask: the department's heads by name.
import type { GateContext } from '../access/gate.ts';
import type { Keyring } from '../vault/keyring.ts';
import { displayNames } from '../identity/users.ts';

export interface FileHints {
  /** The caller's own unexpired break-glass grant on this file, if any. */
  emergencyAccess: { expiresAt: string } | null;
  /** Set when the caller belongs to the owning department but may not share: the heads who may (may be empty). */
  shareAskHeads?: string[];
}

export async function fileHints(ctx: GateContext, keyring: Keyring, personId: string): Promise<FileHints> {
  const { tx, principal: p } = ctx;
  // The gate's facts already say whether the caller holds a running grant: most opens need no query.
  const held = ctx.target.resource.kind === 'file' && ctx.target.resource.breakGlass;
  const grant = !held
    ? undefined
    : await tx
        .selectFrom('break_glass')
        .select('expires_at')
        .where('tenant_id', '=', p.tenantId)
        .where('person_id', '=', personId)
        .where('user_id', '=', p.userId)
        .where('expires_at', '>', ctx.now)
        .orderBy('expires_at', 'desc')
        .executeTakeFirst();
  const hints: FileHints = { emergencyAccess: grant ? { expiresAt: grant.expires_at } : null };
  const owner = ctx.target.departmentId;
  if (owner && !ctx.may('file.share') && p.memberships.some((m) => m.departmentId === owner)) {
    const heads = await tx
      .selectFrom('memberships')
      .innerJoin('users', 'users.id', 'memberships.user_id')
      .select('memberships.user_id')
      .where('memberships.tenant_id', '=', p.tenantId)
      .where('memberships.department_id', '=', owner)
      .where('memberships.role', '=', 'head')
      .where('users.active', '=', 1)
      .execute();
    const names = await displayNames(
      ctx,
      keyring,
      heads.map((x) => x.user_id),
    );
    hints.shareAskHeads = [...names.values()].sort((a, b) => a.localeCompare(b, 'de'));
  }
  return hints;
}
