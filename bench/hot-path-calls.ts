// `node bench/hot-path-calls.ts`: the single calls the gated record read is made of,
// each timed alone on this runtime (µs per call, median of 5 rounds, and the spread):
// the read's SQLite joins with plain `?` parameters and as Kartei prepares them
// (`+?`, src/db/fixed-plans.ts), a trivial statement, and the crypto calls of one
// read (a 256-byte AES-256-GCM field decryption, the audit link's HMAC-SHA256, the
// session token's SHA-256). Prints a table; appends nothing. Run it with another
// runtime or better-sqlite3 to see which side of a change a difference comes from.
import crypto from 'node:crypto';
import SQLite from 'better-sqlite3';
import { fixedPlan } from '../src/db/fixed-plans.ts';

const N = Number(process.env.BENCH_CALLS ?? 50_000);

function time(f: () => unknown): { median: number; spread: string } {
  for (let i = 0; i < 2_000; i++) f();
  const rounds: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < N; i++) f();
    rounds.push(Number(process.hrtime.bigint() - t0) / N / 1000);
  }
  const [low, , median, , high] = rounds.sort((a, b) => a - b) as [number, number, number, number, number];
  return { median, spread: `${low.toFixed(2)}–${high.toFixed(2)}` };
}

// The shape of the read's joins: a row by key, joined by key, with one more `= ?` term.
const db = new SQLite(':memory:');
db.exec(`create table records (id text primary key, tenant_id text, person_id text, version integer);
  create table persons (id text primary key, department_id text);
  create table shares (person_id text, to_department_id text, until text);
  create index shares_person on shares (person_id);
  insert into persons values ('p', 'd');
  insert into records values ('r', 't', 'p', 1);`);
const join =
  'select records.person_id, persons.department_id, shares.to_department_id from records ' +
  'join persons on persons.id = records.person_id left join shares on shares.person_id = persons.id and shares.until > ? ' +
  'where records.id = ? and records.tenant_id = ?';
const args = ['2026-01-01', 'r', 't'];
const plain = db.prepare(join);
const fixed = db.prepare(fixedPlan(join));
const trivial = db.prepare('select 1 as one');

const key = crypto.createSecretKey(crypto.randomBytes(32));
const iv = crypto.randomBytes(12);
const aad = Buffer.from('kartei/v1|36:9a82fb1e-ba5a-4c62-8322-c1db8e7d77f1|15:record_versions|36:abac07ed|7:content');
const cipher = crypto.createCipheriv('aes-256-gcm', key, iv).setAAD(aad);
const body = Buffer.concat([cipher.update(crypto.randomBytes(256)), cipher.final()]);
const tag = cipher.getAuthTag();
const material = crypto.randomBytes(300).toString('base64');

const rows: [string, () => unknown][] = [
  ['SQLite join, parameters `?` (re-planned when SQLite marks them)', () => plain.all(...args)],
  ['SQLite join, parameters `+?` (as Kartei prepares it)', () => fixed.all(...args)],
  ['SQLite `select 1` (the driver call alone)', () => trivial.all()],
  [
    'AES-256-GCM open, 256 B, KeyObject',
    () => {
      const d = crypto.createDecipheriv('aes-256-gcm', key, iv).setAAD(aad);
      d.setAuthTag(tag);
      return Buffer.concat([d.update(body), d.final()]);
    },
  ],
  [
    'HMAC-SHA256 of an audit link (400 B), KeyObject',
    () => crypto.createHmac('sha256', key).update(material).digest('hex'),
  ],
  [
    'SHA-256 of a session token (crypto.hash)',
    () => crypto.hash('sha256', 'a-session-token-of-43-characters-in-base64u'),
  ],
];

const sqlite = (db.prepare('select sqlite_version() as v').get() as { v: string }).v;
process.stdout.write(
  `Node ${process.version}, OpenSSL ${process.versions.openssl}, SQLite ${sqlite} (better-sqlite3), ${N.toLocaleString('en')} calls × 5 rounds\n\n| call | µs per call (median) | rounds |\n|---|---|---|\n`,
);
for (const [name, f] of rows) {
  const t = time(f);
  process.stdout.write(`| ${name} | ${t.median.toFixed(2)} | ${t.spread} |\n`);
}
db.close();
