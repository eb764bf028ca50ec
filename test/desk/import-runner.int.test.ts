// The import runner's hardening (issue 17, after the attack review): each batch is decided on the roles its
// starter holds now — a head removed from the department, or deactivated, stops the import after the last
// committed batch (interrupted, resumable by a head); a row that fails on write is refused with a reason and
// the batch goes on, so resuming never retries it forever.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { inTenantTransaction } from '../../src/db/connect.ts';
import { startHarness, setUpTenant, type Client, type Harness, type Tenant } from '../helpers/harness.ts';

let h: Harness;
let t: Tenant;
let INF: string;
let head: Client & { id: string };

before(async () => {
  h = await startHarness();
  t = await setUpTenant(h);
  INF = t.departments.INF!;
  head = await t.user({ memberships: [{ departmentId: INF, role: 'head' }] });
});
after(() => h.close());

const upload = (by: Client, bytes: Buffer) =>
  by.call('POST', `/api/departments/${INF}/imports`, bytes, { 'content-type': 'text/csv' });

let seq = 0;
function personsCsv(n: number, base: string) {
  const lines = ['Nachname;Vorname;Geburtsdatum'];
  for (let i = 0; i < n; i++)
    lines.push(`${base}${String.fromCharCode(97 + (++seq % 26))}${seq};Anna;0${(i % 9) + 1}.04.1961`);
  return Buffer.from(lines.join('\n'), 'utf8');
}

async function checked(by: Client, csv: Buffer) {
  const up = await upload(by, csv);
  assert.equal(up.status, 201, JSON.stringify(up.body));
  const dry = await by.post(`/api/imports/${up.body.id}/dry-run`, {
    version: up.body.version,
    mapping: { person: { familyName: 0, givenName: 1, birthDate: 2 } },
  });
  assert.equal(dry.status, 200, JSON.stringify(dry.body));
  return dry.body as { id: string; version: number };
}

async function settled(by: Client, id: string) {
  await h.services.imports.running(id)?.catch(() => undefined);
  return (await by.get(`/api/imports/${id}`)).body;
}

for (const how of ['removed from the department', 'deactivated'] as const) {
  test(`a head ${how} while the import runs stops it after the batch under way; another head resumes it`, async () => {
    const starter = await t.user({ memberships: [{ departmentId: INF, role: 'head' }] });
    const job = await checked(starter, personsCsv(9, 'Rollenwechsel'));
    const imports = h.services.imports;
    imports.batchSize = 3;
    imports.hooks = {
      betweenBatches: async (i) => {
        if (i !== 1) return;
        await inTenantTransaction(h.services.store, t.tenantId, async (tx) => {
          if (how === 'deactivated')
            await tx.updateTable('users').set({ active: 0 }).where('id', '=', starter.id).execute();
          else
            await tx
              .deleteFrom('memberships')
              .where('user_id', '=', starter.id)
              .where('department_id', '=', INF)
              .execute();
        });
      },
    };
    try {
      const go = await starter.post(`/api/imports/${job.id}/start`, { version: job.version });
      assert.equal(go.status, 202, JSON.stringify(go.body));
      const stopped = await settled(head, job.id);
      assert.equal(stopped.state, 'running');
      assert.equal(stopped.active, false, 'shown as interrupted');
      assert.equal(stopped.position, 3, 'only the batch before the change');
      assert.equal(stopped.counts.created, 3);
      imports.hooks = {};
      const resumed = await head.post(`/api/imports/${job.id}/start`, { version: stopped.version });
      assert.equal(resumed.status, 202, JSON.stringify(resumed.body));
      const done = await settled(head, job.id);
      assert.equal(done.state, 'done');
      assert.deepEqual(done.counts, { created: 9, matched: 0, refused: 0 });
    } finally {
      imports.batchSize = 1000;
      imports.hooks = {};
    }
  });
}
