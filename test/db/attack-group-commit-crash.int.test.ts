// Attacks on the group committer's direct statements and the WAL checkpoint
// worker (issue 18, from i18-gate): a write acknowledged by the committer must
// survive a SIGKILL right after (while checkpoints run on their worker), and a
// job that fails inside a batch — by a constraint the database raises, by a
// throw before its first statement, after several statements — must leave no
// trace while the jobs around it commit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { openStore } from '../../src/db/connect.ts';
import { DIALECT } from '../helpers/harness.ts';

const skip = DIALECT !== 'sqlite' ? 'group commit is the SQLite store only' : false;
const root = fileURLToPath(new URL('../..', import.meta.url));

test('attack: SIGKILL right after acknowledgements, checkpoints running: every acknowledged write is there', {
  skip,
  timeout: 120_000,
}, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-attack-gc-'));
  const script = path.join(dir, 'writer.ts');
  fs.writeFileSync(
    script,
    `import { sql } from ${JSON.stringify(import.meta.resolve('kysely'))};
import { openStore } from ${JSON.stringify(path.join(root, 'src/db/connect.ts'))};
const store = await openStore({ dataDir: ${JSON.stringify(path.join(dir, 'data'))} });
await sql\`create table if not exists t (id integer primary key, v text not null)\`.execute(store.db);
process.stdout.write('ready\\n');
let next = 0;
// Many writers at once, so that batches form; each acknowledges only once run() resolved.
await Promise.all(Array.from({ length: 12 }, async () => {
  for (;;) {
    const id = next++;
    await store.committer.run(async (tx) => {
      await sql\`insert into t (id, v) values (\${id}, \${'x'.repeat(2000)})\`.execute(tx);
    });
    process.stdout.write(\`ack \${id}\\n\`);
  }
}));
`,
  );
  fs.mkdirSync(path.join(dir, 'data'));
  const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const acked = new Set<number>();
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`writer exited ${code}: ${err}`)));
    readline.createInterface({ input: child.stdout }).on('line', (l) => {
      const m = /^ack (\d+)$/.exec(l);
      if (!m) return;
      acked.add(Number(m[1]));
      // Past several checkpoints (at most one per 100 ms), kill at once on an acknowledgement.
      if (acked.size === 3000) {
        child.removeAllListeners('exit');
        child.kill('SIGKILL');
        resolve();
      }
    });
  });
  await new Promise((r) => (child.exitCode === null && child.signalCode === null ? child.once('exit', r) : r(0)));
  const store = await openStore({ dataDir: path.join(dir, 'data') });
  try {
    const rows = await sql<{ id: number }>`select id from t`.execute(store.db);
    const have = new Set(rows.rows.map((r) => r.id));
    const lost = [...acked].filter((id) => !have.has(id));
    assert.deepEqual(lost, [], `${lost.length} acknowledged writes lost of ${acked.size}`);
    const check = await sql<{ integrity_check: string }>`pragma integrity_check`.execute(store.db);
    assert.equal(check.rows[0]!.integrity_check, 'ok');
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('attack: failing jobs in one batch (a constraint the database raises, a throw before any statement, a failure after many) leave no trace', {
  skip,
}, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-attack-gc-'));
  const store = await openStore({ dataDir: dir });
  try {
    await sql`create table t (id integer primary key, v text not null)`.execute(store.db);
    await sql`insert into t (id, v) values (0, 'existing')`.execute(store.db);
    const c = store.committer!;
    const results = await Promise.allSettled([
      c.run(async (tx) => {
        await sql`insert into t (id, v) values (1, 'a')`.execute(tx);
      }),
      c.run(async (tx) => {
        await sql`insert into t (id, v) values (2, 'b1')`.execute(tx);
        await sql`insert into t (id, v) values (0, 'duplicate')`.execute(tx); // the database refuses
      }),
      c.run(async () => {
        throw new Error('before any statement');
      }),
      c.run(async (tx) => {
        for (let i = 10; i < 20; i++) await sql`insert into t (id, v) values (${i}, 'many')`.execute(tx);
        await sql`update t set v = 'changed' where id = 0`.execute(tx);
        throw new Error('after many statements');
      }),
      c.run(async (tx) => {
        // A job that catches a refused statement and goes on: its other writes stand.
        await sql`insert into t (id, v) values (3, 'c')`.execute(tx);
        await sql`insert into t (id, v) values (1, 'dup')`.execute(tx).catch(() => undefined);
        await sql`insert into t (id, v) values (4, 'd')`.execute(tx);
      }),
      c.run(async (tx) => {
        await sql`insert into t (id, v) values (5, 'e')`.execute(tx);
      }),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'rejected', 'rejected', 'fulfilled', 'fulfilled'],
    );
    const rows = await sql<{ id: number; v: string }>`select id, v from t order by id`.execute(store.db);
    assert.deepEqual(rows.rows, [
      { id: 0, v: 'existing' },
      { id: 1, v: 'a' },
      { id: 3, v: 'c' },
      { id: 4, v: 'd' },
      { id: 5, v: 'e' },
    ]);
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
