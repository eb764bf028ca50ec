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

test('a row whose matched file is merged away before its write is refused alone (file-merged); the batch goes on', async () => {
  const make = async (familyName: string) => {
    const r = await head.post('/api/persons', {
      departmentId: INF,
      familyName,
      givenName: 'Berta',
      birthDate: '1950-02-03',
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body.id as string;
  };
  const absorbed = await make('Verschmolzen');
  const survivor = await make('Bleibend');
  const csv = Buffer.from(
    [
      'Nachname;Vorname;Geburtsdatum;Notiz',
      'Verschmolzen;Berta;03.02.1950;Nachtrag',
      'Neuanfang;Carla;04.05.1966;Erste',
      'Neuanfang;Dora;05.06.1967;Zweite',
    ].join('\n'),
    'utf8',
  );
  const up = await upload(head, csv);
  const dry = await head.post(`/api/imports/${up.body.id}/dry-run`, {
    version: up.body.version,
    mapping: { person: { familyName: 0, givenName: 1, birthDate: 2 }, record: { type: 'note', fields: { text: 3 } } },
  });
  assert.equal(dry.status, 200, JSON.stringify(dry.body));
  assert.deepEqual(dry.body.counts, { created: 2, matched: 1, refused: 0 });
  const imports = h.services.imports;
  // The merge commits after the batch looked its files up (PostgreSQL, read committed): here, in its transaction.
  imports.hooks = {
    beforeRows: async (tx) => {
      await tx.updateTable('persons').set({ merged_into: survivor }).where('id', '=', absorbed).execute();
    },
  };
  try {
    const go = await head.post(`/api/imports/${up.body.id}/start`, { version: dry.body.version });
    assert.equal(go.status, 202, JSON.stringify(go.body));
    const done = await settled(head, up.body.id);
    assert.equal(done.state, 'done', 'not stuck at the failing row');
    assert.deepEqual(done.counts, { created: 2, matched: 0, refused: 1 });
  } finally {
    imports.hooks = {};
  }
  const rows = (await head.get(`/api/imports/${up.body.id}/rows?limit=10`)).body.items as {
    rowNumber: number;
    outcome: string;
    reason: string | null;
    personId: string | null;
    recordId: string | null;
  }[];
  assert.deepEqual(
    rows.map((r) => [r.outcome, r.reason, r.personId === null, r.recordId === null]),
    [
      ['refused', 'file-merged', true, true],
      ['created', null, false, false],
      ['created', null, false, false],
    ],
  );
  // Nothing of the refused row was written: no record in either file.
  const records = await inTenantTransaction(h.services.store, t.tenantId, (tx) =>
    tx.selectFrom('records').select('id').where('person_id', 'in', [absorbed, survivor]).execute(),
  );
  assert.equal(records.length, 0);
});

test('the file is parsed outside every transaction: a write goes through while it is read (upload, detail, dry run, run)', async () => {
  const imports = h.services.imports;
  const evict = () => (imports as unknown as { tables: Map<string, unknown> }).tables.clear();
  const reads: string[] = [];
  let n = 0;
  // On SQLite one transaction runs at a time: were the file parsed inside the gate's, this write would wait for it
  // and the parse for the write — the write would never finish (the 20 s are a deadlock guard, not a timing).
  imports.hooks = {
    reading: async () => {
      const write = head.post('/api/persons', {
        departmentId: INF,
        familyName: `Nebenbei${String.fromCharCode(97 + (n++ % 26))}`,
        givenName: 'Emil',
        birthDate: '1980-01-01',
      });
      const guard = new Promise<string>((r) => setTimeout(() => r('blocked'), 20_000).unref());
      reads.push(await Promise.race([write.then((w) => String(w.status)), guard]));
    },
  };
  try {
    const up = await upload(head, personsCsv(4, 'Ausserhalb'));
    assert.equal(up.status, 201, JSON.stringify(up.body));
    evict();
    assert.equal((await head.get(`/api/imports/${up.body.id}`)).status, 200);
    evict();
    const dry = await head.post(`/api/imports/${up.body.id}/dry-run`, {
      version: up.body.version,
      delimiter: ';',
      mapping: { person: { familyName: 0, givenName: 1, birthDate: 2 } },
    });
    assert.equal(dry.status, 200, JSON.stringify(dry.body));
    evict();
    assert.equal((await head.post(`/api/imports/${up.body.id}/start`, { version: dry.body.version })).status, 202);
    assert.equal((await settled(head, up.body.id)).state, 'done');
  } finally {
    imports.hooks = {};
  }
  assert.deepEqual(reads, ['201', '201', '201', '201'], 'each read once, none inside a transaction');
});
