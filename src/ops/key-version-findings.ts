// Issue 19: keys-online — `kartei doctor` and the security report on department key versions: a
// rotation stopped between its steps (a pending version), and earlier versions not yet retired,
// i.e. data that may still be sealed under them (`kartei keys reencrypt-department` seals it
// again and retires them). Names departments by code; no key material, no counts of content.
import { inTenantTransaction, type Store, type Tx } from '../db/connect.ts';

interface KeyVersionFinding {
  severity: 'medium' | 'low';
  code: 'department-key-rotation-pending' | 'department-key-versions-kept';
  params: Record<string, string | number>;
  title: string;
  fix: string;
}

export async function keyVersionFindings(store: Store, tenantId?: string): Promise<KeyVersionFinding[]> {
  const tenants = tenantId
    ? [tenantId]
    : (await store.db.selectFrom('tenants').select('id').execute()).map((t) => t.id);
  const out: KeyVersionFinding[] = [];
  // Per office, in its transaction: on PostgreSQL the key rows are visible only there (row-level security).
  for (const t of tenants) out.push(...(await inTenantTransaction(store, t, (tx) => officeFindings(tx, t))));
  return out;
}

async function officeFindings(tx: Tx, tenantId: string): Promise<KeyVersionFinding[]> {
  const rows = await tx
    .selectFrom('data_keys')
    .select(['tenant_id', 'scope', 'owner_id', 'key_version', 'destroyed_at'])
    .where('scope', 'in', ['department', 'department-version'])
    .where('tenant_id', '=', tenantId)
    .execute();
  const current = new Map(rows.filter((r) => r.scope === 'department').map((r) => [r.owner_id, r.key_version ?? 1]));
  const pending = new Map<string, number>();
  const kept = new Map<string, number[]>();
  for (const r of rows) {
    if (r.scope !== 'department-version' || r.destroyed_at) continue;
    const cut = r.owner_id.lastIndexOf(':');
    const dept = r.owner_id.slice(0, cut);
    const v = Number(r.owner_id.slice(cut + 1));
    const now = current.get(dept);
    if (now === undefined) continue;
    if (v > now) pending.set(dept, v);
    else
      kept.set(
        dept,
        [...(kept.get(dept) ?? []), v].sort((a, b) => a - b),
      );
  }
  if (pending.size === 0 && kept.size === 0) return [];
  const departments = await tx
    .selectFrom('departments')
    .select(['id', 'code'])
    .where('tenant_id', '=', tenantId)
    .execute();
  const code = new Map(departments.map((x) => [x.id, x.code]));
  const out: KeyVersionFinding[] = [];
  for (const [dept, version] of pending) {
    const c = code.get(dept) ?? dept;
    out.push({
      severity: 'medium',
      code: 'department-key-rotation-pending',
      params: { department: c, version },
      title: `A key rotation of department ${c} stopped after preparing version ${version}; everything still opens`,
      fix: `Run \`kartei keys rotate-department ${c}\` again to complete it.`,
    });
  }
  for (const [dept, versions] of kept) {
    const c = code.get(dept) ?? dept;
    out.push({
      severity: 'low',
      code: 'department-key-versions-kept',
      params: { department: c, versions: versions.join(', ') },
      title: `Department ${c} still keeps earlier key version(s) ${versions.join(', ')}: data may be sealed under them`,
      fix: `Run \`kartei keys reencrypt-department ${c}\`: it seals that data under the current version and retires the earlier ones.`,
    });
  }
  return out;
}
