// The documents' files after an interruption (issue 17): a generated letter whose transaction was undone
// after its file was renamed into place, and a cut-off upload's temporary file, are removed at the next
// start (audited with counts); the files of stored versions stay and read back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Principal } from '../../src/access/policy.ts';
import { inTenantTransaction } from '../../src/db/connect.ts';
import { setUpTenant, startHarness } from '../helpers/harness.ts';
import { testPdf } from '../helpers/documents.ts';

test('an undone version and a cut-off upload leave files that the next start removes; stored ones stay', async () => {
  // The files store, whose files this test looks at (the database's: test/imaging/store-recovery-shared).
  const files = { KARTEI_STORAGE: 'files' };
  const h = await startHarness({ env: files });
  let reopened: Awaited<ReturnType<typeof startHarness>> | undefined;
  try {
    const t = await setUpTenant(h, ['INF']);
    const INF = t.departments.INF!;
    const physician = await t.user({ memberships: [{ departmentId: INF, role: 'physician' }] });
    const personId = (
      await physician.post('/api/persons', {
        departmentId: INF,
        familyName: 'Wiederfeld',
        givenName: 'Anna',
        birthDate: '1970-01-01',
      })
    ).body.id as string;
    const principal: Principal = {
      userId: physician.id,
      tenantId: t.tenantId,
      tenantRoles: [],
      memberships: [{ departmentId: INF, role: 'physician' }],
    };
    const generate = (text: string, fail: boolean) =>
      h.services.gate.run(principal, 'document.add', { kind: 'person', personId }, async (ctx) => {
        const r = await h.services.documentSink!.addGenerated(ctx, {
          personId,
          title: text,
          fileName: `${text}.pdf`,
          mediaType: 'application/pdf',
          bytes: testPdf(text),
          template: { id: 'tpl-x', version: 1 },
        });
        // A bulk run's later letter failing undoes the whole transaction, after this file was renamed into place.
        if (fail) throw new Error('a later step failed');
        return r;
      });
    const kept = await generate('Bleibt', false);
    await assert.rejects(generate('Faellt', true), /a later step failed/);
    const root = path.join(h.config.dataDir, 'documents', t.tenantId, INF);
    const names = () => fs.readdirSync(root).sort();
    assert.deepEqual(names(), [`${kept.documentId}-1`, `${kept.documentId}-2`].sort());
    fs.writeFileSync(path.join(root, `${kept.documentId}-3.tmp-0123456789abcdef`), 'cut off');
    await h.stop();

    reopened = await startHarness({ reopen: h.installation, env: files });
    assert.deepEqual(fs.readdirSync(root), [`${kept.documentId}-1`]);
    const events = await inTenantTransaction(reopened.services.store, t.tenantId, (tx) =>
      tx.selectFrom('audit_events').select('detail').where('action', '=', 'system.documents-recovery').execute(),
    );
    assert.deepEqual(
      events.map((e) => JSON.parse(e.detail!)),
      [{ partial: 1, orphans: 1, kept: 0 }],
    );
    const read = await reopened.services.gate.run(
      principal,
      'document.read',
      { kind: 'document', documentId: kept.documentId },
      (ctx) => reopened!.services.documents.read(ctx, kept.documentId),
    );
    const parts: Buffer[] = [];
    for await (const b of read.body) parts.push(b);
    assert.deepEqual(Buffer.concat(parts), testPdf('Bleibt'));
  } finally {
    await (reopened ?? h).close();
    if (reopened) fs.rmSync(h.dir, { recursive: true, force: true });
  }
});
