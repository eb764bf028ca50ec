// `npm run bench:demis`: the DEMIS import at an office's size, in one process.
//  1. seeds BENCH_PERSONS (100,000) files into the infection-protection department through the gate
//     (1,000 per audited transaction), common German names with repeats (bench/demis/names.ts);
//  2. makes BENCH_BUNDLES (10,000) laboratory notification bundles (test/helpers/demis-bundles.ts):
//     ~60 % for persons on file (exact, transliterated Müller → Mueller, a spelling that sounds alike,
//     a wrong given name), ~40 % for new persons, ~1 % corrections (relatesTo), ~1 % sent twice,
//     ~0.5 % broken (quarantined);
//  3. imports each through the one import use case (importFromConnection: validate, seal, index,
//     audit) and then asks for its person suggestions as staff do (GET …/matches: the gate's
//     `notification.read`, the current facts opened, matchPerson), timing both: bundles per second
//     (import alone, import + match) and the matching's p50/p95/p99 — goal p50 < 20 ms;
//  4. times the inbox's first page and the quarantine list over HTTP with a session (p50/p95);
//  5. appends the figures against the goals to bench/RESULTS.md.
// BENCH_PROFILE=1 wraps the import loop in the inspector's CPU profiler (writes bench-demis.cpuprofile).
import { execSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Session } from 'node:inspector/promises';
import { startHarness, setUpTenant } from '../../test/helpers/harness.ts';
import { laboratoryBundle } from '../../test/helpers/demis-bundles.ts';
import { authenticate } from '../../src/identity/sessions.ts';
import { importFromConnection } from '../../src/infection/notification-import.ts';
import { matchPerson } from '../../src/infection/person-matching.ts';
import { currentFacts } from '../../src/infection/inbox.ts';
import { random, somePerson, transliterated, soundsAlike, hasUmlaut, GIVEN_NAMES, type NamedPerson } from './names.ts';

const PERSONS = Number(process.env.BENCH_PERSONS ?? 100_000);
const BUNDLES = Number(process.env.BENCH_BUNDLES ?? 10_000);
const PAGE_LOADS = Number(process.env.BENCH_PAGE_LOADS ?? 100);
const DISEASES = ['cvdp', 'cvdp', 'cvdp', 'invp', 'invp', 'havp', 'ehcp', 'gilp'];

const loadBefore = os
  .loadavg()
  .map((x) => x.toFixed(1))
  .join('/');
const h = await startHarness({ listen: true });
const t = await setUpTenant(h, ['INF']);
const INF = t.departments.INF!;
const seeder = await t.user({ memberships: [{ departmentId: INF, role: 'physician' }] });
const { principal: seedPrincipal } = (await authenticate(h.services.store.db, seeder.cookie!))!;

// 1. The files.
const rnd = random(16);
const onFile: (NamedPerson & { id: string })[] = [];
let t0 = performance.now();
for (let done = 0; done < PERSONS; done += 1000) {
  await h.services.gate.run(seedPrincipal, 'person.create', { kind: 'department', departmentId: INF }, async (ctx) => {
    for (let i = done; i < Math.min(done + 1000, PERSONS); i++) {
      const p = somePerson(rnd);
      const id = await h.services.persons.create(ctx, INF, {
        ...p,
        sex: i % 2 ? 'female' : 'male',
        address: { street: `Lindenallee ${1 + (i % 120)}`, postalCode: '12345', city: 'Musterstadt' },
      });
      onFile.push({ ...p, id });
    }
  });
}
const seedSeconds = (performance.now() - t0) / 1000;
process.stderr.write(`seeded ${PERSONS} files in ${seedSeconds.toFixed(1)} s\n`);
const umlauts = onFile.filter((p) => hasUmlaut(p.familyName));

// 2. The bundles.
type Kind = 'exact' | 'transliterated' | 'sounds-alike' | 'wrong-given' | 'new' | 'correction' | 'twice' | 'broken';
interface Planned {
  kind: Kind;
  raw: Uint8Array;
  /** The file the bundle is about, if it is on file. */
  personId?: string;
}
const planned: Planned[] = [];
const sent: { notificationId: string; person: NamedPerson; personId?: string; raw: Uint8Array }[] = [];
const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)]!;
for (let i = 0; i < BUNDLES; i++) {
  const u = rnd();
  const common = {
    diseaseCode: pick(DISEASES),
    notifiedAt: new Date(Date.UTC(2026, 10, 1) + i * 300_000).toISOString(),
    sex: 'female' as const,
  };
  if (u < 0.01 && sent.length) {
    const earlier = pick(sent);
    const b = laboratoryBundle({
      ...common,
      ...earlier.person,
      relatesTo: { notificationId: earlier.notificationId },
    });
    planned.push({
      kind: 'correction',
      raw: Buffer.from(JSON.stringify(b)),
      ...(earlier.personId ? { personId: earlier.personId } : {}),
    });
    continue;
  }
  if (u < 0.02 && sent.length) {
    const earlier = pick(sent);
    planned.push({ kind: 'twice', raw: earlier.raw, ...(earlier.personId ? { personId: earlier.personId } : {}) });
    continue;
  }
  if (u < 0.025) {
    // No Patient name and no birth date: refused, kept in the quarantine.
    const b = laboratoryBundle({ ...common, birthDate: null }) as unknown as { entry: { resource: object }[] };
    b.entry = b.entry.filter((e) => (e.resource as { resourceType?: string }).resourceType !== 'Patient');
    planned.push({ kind: 'broken', raw: Buffer.from(JSON.stringify(b)) });
    continue;
  }
  let kind: Kind;
  let person: NamedPerson;
  let personId: string | undefined;
  if (u < 0.41) {
    kind = 'new';
    person = somePerson(rnd);
  } else {
    const v = rnd();
    kind = v < 0.5 ? 'exact' : v < 0.67 ? 'transliterated' : v < 0.84 ? 'sounds-alike' : 'wrong-given';
    const f = kind === 'transliterated' ? pick(umlauts.length ? umlauts : onFile) : pick(onFile);
    personId = f.id;
    person = { familyName: f.familyName, givenName: f.givenName, birthDate: f.birthDate };
    if (kind === 'transliterated')
      person = {
        ...person,
        familyName: transliterated(person.familyName),
        givenName: transliterated(person.givenName),
      };
    if (kind === 'sounds-alike') person = { ...person, familyName: soundsAlike(person.familyName) };
    if (kind === 'wrong-given')
      person = { ...person, givenName: pick(GIVEN_NAMES.filter((g) => g !== person.givenName)) };
  }
  const notificationId = crypto.randomUUID();
  const raw = Buffer.from(JSON.stringify(laboratoryBundle({ ...common, ...person, notificationId })));
  planned.push({ kind, raw, ...(personId ? { personId } : {}) });
  sent.push({ notificationId, person, raw, ...(personId ? { personId } : {}) });
}

// 3. Import each, then ask for its suggestions as the inbox's screen does.
const reader = await t.user({ memberships: [{ departmentId: INF, role: 'clerk' }] });
const { principal: clerk } = (await authenticate(h.services.store.db, reader.cookie!))!;
const importMs: number[] = [];
const matchMs: number[] = [];
const matchCallMs: number[] = [];
const outcomes: Record<string, number> = {};
/** Per kind of bundle on file: how often its file was the first suggestion, or among them. */
const found: Record<string, { n: number; first: number; shown: number; candidates: number }> = {};
let profiler: Session | undefined;
if (process.env.BENCH_PROFILE) {
  profiler = new Session();
  profiler.connect();
  await profiler.post('Profiler.enable');
  await profiler.post('Profiler.start');
}
const wall0 = performance.now();
for (const b of planned) {
  t0 = performance.now();
  const r = await importFromConnection(h.services, t.tenantId, INF, b.raw, 'application/fhir+json');
  const t1 = performance.now();
  importMs.push(t1 - t0);
  if (importMs.length % 1000 === 0) process.stderr.write(`imported ${importMs.length}\n`);
  outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1;
  if (!r.notificationId || r.outcome === 'duplicate') continue;
  let inner = 0;
  let candidates = 0;
  const matches = await h.services.gate.run(
    clerk,
    'notification.read',
    { kind: 'notification', notificationId: r.notificationId },
    async (ctx) => {
      const { row, facts } = await currentFacts(ctx, h.services, r.notificationId!);
      const m0 = performance.now();
      const m = await matchPerson(ctx, h.services, row.department_id, facts.person);
      inner = performance.now() - m0;
      candidates = Number((ctx.audit.detail as { candidates?: number } | undefined)?.candidates ?? 0);
      return m;
    },
  );
  matchMs.push(performance.now() - t1);
  matchCallMs.push(inner);
  if (b.personId && b.kind !== 'twice') {
    const f = found[b.kind] ?? { n: 0, first: 0, shown: 0, candidates: 0 };
    found[b.kind] = f;
    f.n++;
    f.candidates += candidates;
    if (matches[0]?.personId === b.personId) f.first++;
    if (matches.some((m) => m.personId === b.personId)) f.shown++;
  }
}
const wallSeconds = (performance.now() - wall0) / 1000;
if (profiler) {
  const { profile } = await profiler.post('Profiler.stop');
  fs.writeFileSync('bench-demis.cpuprofile', JSON.stringify(profile));
  profiler.disconnect();
}

// 4. The inbox's first page and the quarantine list, over HTTP with a fresh session.
const staff = await t.user({ memberships: [{ departmentId: INF, role: 'clerk' }] });
async function pageLoads(url: string) {
  const headers = { cookie: `kartei_session=${staff.cookie}` };
  const times: number[] = [];
  let rows = 0;
  let bytes = 0;
  for (let i = 0; i < PAGE_LOADS + 5; i++) {
    const s = performance.now();
    const res = await fetch(`${h.url}${url}`, { headers });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`${url}: ${res.status} ${text.slice(0, 300)}`);
    if (i >= 5) times.push(performance.now() - s);
    rows = (JSON.parse(text) as unknown[]).length;
    bytes = text.length;
  }
  return { ...percentiles(times), rows, bytes };
}
const inbox = await pageLoads(`/api/departments/${INF}/notifications`);
const inboxFiltered = await pageLoads(`/api/departments/${INF}/notifications?state=new&disease=invp`);
const quarantine = await pageLoads(`/api/departments/${INF}/quarantine`);
const dataBytes = fs
  .readdirSync(h.config.dataDir)
  .reduce((n, f) => n + fs.statSync(path.join(h.config.dataDir, f)).size, 0);
const notifications = Number(
  (
    await h.services.store.db
      .selectFrom('demis_notifications')
      .select((e) => e.fn.countAll().as('n'))
      .executeTakeFirstOrThrow()
  ).n,
);
await h.close();
const loadAfter = os
  .loadavg()
  .map((x) => x.toFixed(1))
  .join('/');

function percentiles(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: s[s.length - 1] ?? NaN };
}

// 5. The report.
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const fmt = (x: number, d = 0) => x.toLocaleString('en', { maximumFractionDigits: d, minimumFractionDigits: d });
const ms = (x: number) => fmt(x, 1);
const ok = (cond: boolean) => (cond ? 'meets goal' : '**falls short**');
const imp = percentiles(importMs);
const match = percentiles(matchMs);
const call = percentiles(matchCallMs);
const importRate = planned.length / (sum(importMs) / 1000);
const bothRate = planned.length / wallSeconds;
const commit = execSync('git rev-parse --short HEAD').toString().trim();
const dirty = execSync("git status --porcelain -- src bench test ':!bench/RESULTS.md'").toString().trim()
  ? ' (uncommitted changes)'
  : '';
const counted = new Map<string, number>();
for (const b of planned) counted.set(b.kind, (counted.get(b.kind) ?? 0) + 1);
const kinds = [...counted].map(([k, n]) => `${k} ${fmt(n)}`).join(', ');
const quality = Object.entries(found)
  .map(
    ([k, f]) =>
      `${k}: first ${fmt((100 * f.first) / f.n, 1)} %, shown ${fmt((100 * f.shown) / f.n, 1)} % (${fmt(f.n)}; ${fmt(f.candidates / f.n)} candidates on average)`,
  )
  .join('; ');

const report = `
## ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC — DEMIS import: ${fmt(planned.length)} laboratory notifications into ${fmt(PERSONS)} files — commit ${commit}${dirty}

\`npm run bench:demis\` (BENCH_PERSONS=${PERSONS} BENCH_BUNDLES=${BUNDLES}). Node ${process.version}, ${os.cpus().length} cores, SQLite (WAL, group commit),
one process, one bundle after another (as the poller imports); load average ${loadBefore} at the start, ${loadAfter} at the end.
Seeding ${fmt(PERSONS)} files through the gate (1,000 per audited transaction) took ${fmt(seedSeconds, 1)} s; data directory afterwards ${fmt(dataBytes / 1048576, 1)} MiB.
Bundles: ${kinds}. Outcomes: ${Object.entries(outcomes)
  .map(([k, n]) => `${k} ${fmt(n)}`)
  .join(', ')}; ${fmt(notifications)} notifications in the inbox afterwards.
"Import" is \`importFromConnection\` (parse and check, duplicate and relatesTo look-ups, seal, blind-index digest, insert, audit; one transaction each).
"Match" is what \`GET /api/notifications/:id/matches\` does without HTTP: the gate's \`notification.read\` (decide, audit), the current facts opened, \`matchPerson\`.

| measure | result | goal | |
|---|---|---|---|
| import alone | **${fmt(importRate, 1)} bundles/s**; per bundle p50 ${ms(imp.p50)} ms, p95 ${ms(imp.p95)} ms, p99 ${ms(imp.p99)} ms | — | |
| import + match, end to end | **${fmt(bothRate, 1)} bundles/s** (${fmt(wallSeconds, 1)} s for ${fmt(planned.length)}) | — | |
| matching per bundle at ${fmt(PERSONS)} files (gated, audited, as the screen asks) | p50 **${ms(match.p50)} ms**, p95 ${ms(match.p95)} ms, p99 ${ms(match.p99)} ms, max ${ms(match.max)} ms | p50 < 20 ms | ${ok(match.p50 < 20)} |
| of which \`matchPerson\` itself (index query, scoring, the shown files decrypted) | p50 ${ms(call.p50)} ms, p95 ${ms(call.p95)} ms, p99 ${ms(call.p99)} ms | — | |
| inbox's first page, \`GET /api/departments/:id/notifications\` (${inbox.rows} rows, ${fmt(inbox.bytes / 1024, 1)} KiB, ${PAGE_LOADS} loads one after another) | p50 **${ms(inbox.p50)} ms**, p95 ${ms(inbox.p95)} ms | — | |
| the same filtered (\`state=new&disease=invp\`, ${inboxFiltered.rows} rows) | p50 ${ms(inboxFiltered.p50)} ms, p95 ${ms(inboxFiltered.p95)} ms | — | |
| quarantine list, \`GET /api/departments/:id/quarantine\` (${quarantine.rows} rows) | p50 ${ms(quarantine.p50)} ms, p95 ${ms(quarantine.p95)} ms | — | |

Suggestions (is the file the bundle is about the first suggestion, or among the ≤ 5 shown): ${quality}.
`;

const file = path.resolve(import.meta.dirname, '../RESULTS.md');
fs.appendFileSync(file, report);
process.stdout.write(report);
