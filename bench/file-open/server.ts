// The file-opening benchmark's server process: a fresh installation with one
// department, a logged-in physician, and three files — BENCH_SMALL (5) records,
// one full first page (50), BENCH_LARGE (5,000) — seeded through the gate in batches.
// Prints one JSON line with what the load generator needs.
import os from 'node:os';
import { startHarness, setUpTenant, samplePerson } from '../../test/helpers/harness.ts';
import { authenticate } from '../../src/identity/sessions.ts';

const SMALL = Number(process.env.BENCH_SMALL ?? 5);
const LARGE = Number(process.env.BENCH_LARGE ?? 5_000);

const h = await startHarness();
const t = await setUpTenant(h, ['TB']);
const TB = t.departments.TB!;
const physician = await t.user({ memberships: [{ departmentId: TB, role: 'physician' }] });
const { principal } = (await authenticate(h.services.store.db, physician.cookie!))!;

async function file(familyName: string, records: number): Promise<string> {
  const { body } = await physician.post('/api/persons', samplePerson(TB, familyName));
  for (let done = 0; done < records; done += 500) {
    await h.services.gate.run(
      principal,
      'record.create',
      { kind: 'person', personId: body.id, sensitivity: 'normal' },
      async (ctx) => {
        for (let i = done; i < Math.min(done + 500, records); i++) {
          await h.services.records.create(ctx, body.id, {
            type: i % 3 === 0 ? 'examination' : 'note',
            sensitivity: 'normal',
            content:
              i % 3 === 0
                ? {
                    date: '2026-11-02',
                    reason: `Kontrolle ${i}`,
                    findings: 'Kein Hinweis auf aktive Tuberkulose. Befund unauffällig.',
                  }
                : { text: `Telefonat ${i}: Termin vereinbart.\nRückruf der Hausärztin, Befunde werden nachgereicht.` },
          });
        }
      },
    );
  }
  return body.id;
}

const started = Date.now();
const small = await file('Kleinakte', SMALL);
const page = await file('Seitenakte', 50);
const large = await file('Grossakte', LARGE);
const seedSeconds = (Date.now() - started) / 1000;

await h.app.listen({ host: '127.0.0.1', port: 0 });
const address = h.app.server.address() as { port: number };
process.stdout.write(
  `${JSON.stringify({
    port: address.port,
    cookie: physician.cookie,
    small,
    page,
    large,
    SMALL,
    LARGE,
    seedSeconds,
    pid: process.pid,
    cpus: os.cpus().length,
  })}\n`,
);
process.on('SIGTERM', async () => {
  await h.close();
  process.exit(0);
});
