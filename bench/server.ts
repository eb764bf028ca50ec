// The benchmark's server process: a fresh installation with one department,
// a logged-in physician, one record, and N seeded persons for search. It adds
// one ungated route, /bench/bare/:id, that reads the same record row without
// gate, audit or decryption: the floor of Fastify + the database here.
// Prints one JSON line with what the load generator needs.
import { releaseEstimator } from '../src/identity/password-estimator.ts';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startHarness, setUpTenant, samplePerson } from '../test/helpers/harness.ts';
import { inTenantTransaction } from '../src/db/connect.ts';
import { authenticate } from '../src/identity/sessions.ts';
import { SAMPLE_RECORD } from './sample-record.ts';

const seedPersons = Number(process.env.BENCH_PERSONS ?? 100_000);
const SURNAMES = [
  'Müller',
  'Schmidt',
  'Schneider',
  'Fischer',
  'Weber',
  'Meyer',
  'Wagner',
  'Becker',
  'Schulz',
  'Hoffmann',
  'Koch',
  'Richter',
  'Klein',
  'Wolf',
  'Schröder',
  'Neumann',
  'Schwarz',
  'Zimmermann',
  'Braun',
  'Krüger',
];

let tenantId = '';
const h = await startHarness({
  extraRoutes: (app) => {
    app.get<{ Params: { id: string } }>(
      '/bench/bare/:id',
      {
        config: {
          access: { public: 'benchmark floor; exists only in the benchmark harness' },
          answers: { raw: 'benchmark floor: plain JSON, no contract check' },
        },
      },
      async (req) =>
        inTenantTransaction(h.services.store, tenantId, (tx) =>
          tx
            .selectFrom('record_versions')
            .selectAll()
            .where('record_id', '=', req.params.id)
            .where('version', '=', 1)
            .executeTakeFirstOrThrow(),
        ).then((r) => ({ id: r.record_id, version: r.version, content: r.content_enc.toString('base64') })),
    );
  },
});
const t = await setUpTenant(h, ['TB']);
tenantId = t.tenantId;
const physician = await t.user({ memberships: [{ departmentId: t.departments.TB!, role: 'physician' }] });
const { body: person } = await physician.post('/api/persons', samplePerson(t.departments.TB!, 'Quastenberg'));
const { body: record } = await physician.post(`/api/persons/${person.id}/records`, SAMPLE_RECORD);

// Seed persons in batches through the gate (one audited transaction per batch).
const { principal } = (await authenticate(h.services.store.db, physician.cookie!))!;
const started = Date.now();
for (let done = 0; done < seedPersons; done += 1000) {
  await h.services.gate.run(
    principal,
    'person.create',
    { kind: 'department', departmentId: t.departments.TB! },
    async (ctx) => {
      for (let i = done; i < Math.min(done + 1000, seedPersons); i++) {
        await h.services.persons.create(ctx, t.departments.TB!, {
          familyName: `${SURNAMES[i % SURNAMES.length]}${i % 7 === 0 ? '' : `-${i}`}`,
          givenName: `Vorname${i}`,
          birthDate: `19${String(30 + (i % 70)).padStart(2, '0')}-0${1 + (i % 9)}-1${i % 10}`,
        });
      }
    },
  );
}
const seedSeconds = (Date.now() - started) / 1000;

// Measured as a server runs once its accounts are set up: the password checker's dictionaries, loaded to set the
// bench users' passwords, let go (a server does so 5 minutes after the last password set).
if (!process.env.BENCH_KEEP_ESTIMATOR) releaseEstimator();
await h.app.listen({ host: '127.0.0.1', port: 0 });
const address = h.app.server.address() as { port: number };
const dataBytes = fs
  .readdirSync(h.config.dataDir)
  .reduce((n, f) => n + fs.statSync(path.join(h.config.dataDir, f)).size, 0);
process.stdout.write(
  `${JSON.stringify({
    port: address.port,
    cookie: physician.cookie,
    // Issue 18: runtime — the soak (bench/soak.ts) writes records too.
    csrf: physician.csrf,
    recordId: record.id,
    personId: person.id,
    seedPersons,
    seedSeconds,
    dataBytes,
    pid: process.pid,
    cpus: os.cpus().length,
    // Issue 18: the installation's directories, for the bench's restart on them (BENCH_KEEP_DIR=1).
    dir: h.dir,
  })}\n`,
);
process.on('SIGTERM', async () => {
  // Kept for a server restarted on the same data (the idle figure of an office's server); the bench removes it.
  if (process.env.BENCH_KEEP_DIR === '1') await h.stop();
  else await h.close();
  process.exit(0);
});
