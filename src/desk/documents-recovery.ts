// Recovery of the documents' files at start, before anything listens (issue 17): an upload cut off
// leaves a `.tmp-` file; a version whose transaction did not commit after its file was renamed into
// place (a crash, a failed audit write, a bulk run of letters undone as a whole) leaves a sealed file
// no row names, whose data key was never stored — unreadable, but taking space. Both are removed; each
// office whose files were touched gets one audit event with the counts. Guard: more orphans than a
// crash leaves means the database is older than the files (a restored backup?): then none is removed.
// A shared store (issue 19: the database, written by every instance): entries younger than
// SHARED_STORE_GRACE_MS are left to the instance that may still be writing them, and recovery
// runs under an advisory lock, so two instances starting together do not both judge.
import type { AuditLog } from '../audit/audit-log.ts';
import type { Store } from '../db/connect.ts';
import { inTenantTransaction } from '../db/connect.ts';
import type { DocumentFiles } from './documents-files.ts';
import { exclusively } from '../db/session-lock.ts';
import { leftToWriter } from '../vault/sealed-store.ts';

/** More orphaned document files than this are not a crash's: none is removed. */
const MAX_CRASH_ORPHANS = 1000;
const VERSION_FILE = /^([0-9a-f-]{36})-(\d{1,9})$/;

export interface DocumentsRecovery {
  partial: number;
  orphans: number;
  kept: number;
}

type Deps = { store: Store; files: DocumentFiles; audit: AuditLog };
type Options = { maxOrphans?: number; now?: Date };

export function recoverDocuments(d: Deps, opts: Options = {}): Promise<DocumentsRecovery> {
  return d.files.shared
    ? exclusively(d.store, 'kartei:store-recovery:documents', () => recover(d, opts))
    : recover(d, opts);
}

async function recover(d: Deps, opts: Options): Promise<DocumentsRecovery> {
  const now = opts.now ?? new Date();
  const tenants = new Set((await d.store.db.selectFrom('tenants').select('id').execute()).map((t) => t.id));
  const perOffice = new Map<string, DocumentsRecovery>();
  const counts = (office: string) =>
    perOffice.get(office) ?? perOffice.set(office, { partial: 0, orphans: 0, kept: 0 }).get(office)!;
  /** Per office: `<id>:<version>` → the file. */
  const sealed = new Map<string, Map<string, string>>();
  for await (const f of d.files.walk()) {
    const [tenantId, , name] = f.relPath.split('/');
    if (!tenantId || !tenants.has(tenantId)) continue; // not ours to judge
    if (leftToWriter(d.files, f, now)) continue;
    if (f.temporary) {
      await d.files.removeLeftover(f.relPath);
      counts(tenantId).partial++;
      continue;
    }
    const m = VERSION_FILE.exec(name ?? '');
    if (!m) continue;
    (sealed.get(tenantId) ?? sealed.set(tenantId, new Map()).get(tenantId)!).set(`${m[1]}:${m[2]}`, f.relPath);
  }
  const orphans: { office: string; relPath: string }[] = [];
  for (const [tenantId, files] of sealed) {
    const named = new Set<string>();
    await inTenantTransaction(d.store, tenantId, async (tx) => {
      const ids = [...new Set([...files.keys()].map((k) => k.split(':')[0]!))];
      for (let i = 0; i < ids.length; i += 500) {
        const rows = await tx
          .selectFrom('document_versions')
          .innerJoin('documents', 'documents.id', 'document_versions.document_id')
          .select(['document_versions.document_id', 'document_versions.version', 'documents.department_id'])
          .where('document_versions.document_id', 'in', ids.slice(i, i + 500))
          .execute();
        for (const r of rows) named.add(`${r.document_id}:${r.version}:${r.department_id}`);
      }
    });
    for (const [key, relPath] of files)
      if (!named.has(`${key}:${relPath.split('/')[1]}`)) orphans.push({ office: tenantId, relPath });
  }
  const remove = orphans.length <= (opts.maxOrphans ?? MAX_CRASH_ORPHANS);
  for (const o of orphans) {
    if (remove) {
      await d.files.remove(o.relPath);
      counts(o.office).orphans++;
    } else counts(o.office).kept++;
  }
  for (const [office, c] of perOffice)
    await inTenantTransaction(d.store, office, (tx) =>
      d.audit.append(tx, {
        tenantId: office,
        actorId: null,
        action: 'system.documents-recovery',
        resourceType: 'tenant',
        resourceId: office,
        outcome: 'allowed',
        detail: { ...c },
      }),
    );
  const total = { partial: 0, orphans: 0, kept: 0 };
  for (const c of perOffice.values()) {
    total.partial += c.partial;
    total.orphans += c.orphans;
    total.kept += c.kept;
  }
  return total;
}
