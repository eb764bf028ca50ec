// Kartei's side of `npm run bench:dicom-retrieval` as a server process of its own, like Orthanc's,
// so that the CPU time and page faults read from its /proc/<pid>/stat are the server's alone (the
// bench, which starts the clients and lists and removes what they wrote, is another process).
// Started under the production start (bench/production-start.ts). One installation: a tenant
// with department RAD, the bench AEs registered as devices (plain by loopback host, TLS by their
// pinned certificate), the C-MOVE destinations, a staff user's API token (dicomweb:read); then the
// DIMSE listener with and without TLS, the HTTP server and a second one with TLS on the same services.
//   node --import ./bench/production-start.ts bench/dicom/retrieval-server.ts '<ServerOptions as JSON>'
// Prints one JSON line (ServerInfo) when it serves; answers each line on stdin with one line:
// "count" → the number of instances stored; "floor <StudyInstanceUID>" → the URL of the floor
// under WADO-RS (wado-floor.ts) for that study, started in this process; "profile" → starts the
// CPU profiler in this process; "profile-stop <file>" → writes the profile there (cpu-profile.ts).
import readline from 'node:readline';
import { startDimseListener } from '../../src/imaging/dimse/listener.ts';
import { releaseEstimator } from '../../src/identity/password-estimator.ts';
import { buildApp } from '../../src/http/app.ts';
import { inTenantTransaction } from '../../src/db/connect.ts';
import { startHarness, setUpTenant, freePort } from '../../test/helpers/harness.ts';
import type { BenchTls } from './kartei.ts';
import { startWadoFloor, type Floor } from './wado-floor.ts';
import { startProfile, stopProfile } from './cpu-profile.ts';

export interface ServerOptions {
  callingAet: string;
  /** The bench AE over TLS, known by the bench client certificate. */
  tlsAet: string;
  tls: BenchTls;
  /** The C-MOVE destinations: a storescp without TLS, one with (and its certificate). */
  moveDest: { aet: string; port: number };
  moveDestTls: { aet: string; port: number; cert: string };
}

export interface ServerInfo {
  pid: number;
  port: number;
  tlsPort: number;
  /** DICOMweb's base over HTTP and over HTTPS. */
  dicomWeb: string;
  secureDicomWeb: string;
  token: string;
}

const opts = JSON.parse(process.argv[2]!) as ServerOptions;
const { tls } = opts;
const h = await startHarness();
const t = await setUpTenant(h, ['RAD']);
const RAD = t.departments.RAD!;
const devices = [
  { aeTitle: opts.callingAet, departmentId: RAD, permissions: ['store', 'find', 'retrieve'], host: '127.0.0.1' },
  { aeTitle: opts.tlsAet, departmentId: RAD, permissions: ['find', 'retrieve'], certificate: tls.client.cert },
  {
    aeTitle: opts.moveDest.aet,
    departmentId: RAD,
    permissions: ['retrieve'],
    host: '127.0.0.1',
    port: opts.moveDest.port,
  },
  {
    aeTitle: opts.moveDestTls.aet,
    departmentId: RAD,
    permissions: ['retrieve'],
    certificate: opts.moveDestTls.cert,
    host: '127.0.0.1',
    port: opts.moveDestTls.port,
  },
];
for (const d of devices) {
  const r = await t.admin.post('/api/admin/devices', d);
  if (r.status !== 201) throw new Error(`device ${d.aeTitle}: ${JSON.stringify(r.body)}`);
}
const staff = await t.user({ memberships: [{ departmentId: RAD, role: 'physician' }] });
const token = await staff.post('/api/auth/tokens', { name: 'bench', scopes: ['dicomweb:read'], expiresInDays: 1 });
if (token.status !== 201) throw new Error(`token: ${JSON.stringify(token.body)}`);
// Measured as a server runs once its accounts are set up: the password checker's dictionaries let go (bench/server.ts).
releaseEstimator();

const listener = await startDimseListener(
  { host: '127.0.0.1', port: await freePort(), aeTitle: 'KARTEI' },
  { deps: h.dimseDeps },
);
const tlsListener = await startDimseListener(
  {
    host: '127.0.0.1',
    port: await freePort(),
    aeTitle: 'KARTEI',
    tls: { certFile: tls.server.certFile, keyFile: tls.server.keyFile, caFile: tls.caFile },
  },
  { deps: h.dimseDeps },
);
const address = await h.app.listen({ host: '127.0.0.1', port: 0 });
// The same services behind a second HTTP server with TLS, as `kartei serve` runs with a certificate.
const secureApp = await buildApp(
  {
    ...h.services,
    config: { ...h.services.config, tls: { certFile: tls.server.certFile, keyFile: tls.server.keyFile } },
  },
  { logger: false },
);
const secureAddress = await secureApp.listen({ host: '127.0.0.1', port: 0 });

const info: ServerInfo = {
  pid: process.pid,
  port: listener.port,
  tlsPort: tlsListener.port,
  dicomWeb: `${address}/dicom-web`,
  secureDicomWeb: `${secureAddress}/dicom-web`,
  token: token.body.token as string,
};
process.stdout.write(`${JSON.stringify(info)}\n`);

const countInstances = () =>
  inTenantTransaction(h.services.store, t.tenantId, async (tx) =>
    Number(
      (
        await tx
          .selectFrom('instances')
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    ),
  );
let floor: Floor | undefined;
readline.createInterface({ input: process.stdin }).on('line', async (line) => {
  const [command, arg] = line.split(' ');
  if (command === 'count') process.stdout.write(`${await countInstances()}\n`);
  else if (command === 'profile') {
    await startProfile();
    process.stdout.write('profiling\n');
  } else if (command === 'profile-stop') {
    await stopProfile(arg!);
    process.stdout.write(`${arg}\n`);
  } else if (command === 'floor') {
    await floor?.close();
    floor = await startWadoFloor(h, t.tenantId, RAD, arg!);
    process.stdout.write(`${floor.url}\n`);
  }
});
process.once('SIGTERM', async () => {
  await floor?.close();
  await listener.close();
  await tlsListener.close();
  await secureApp.close();
  await h.close();
  process.exit(0);
});
