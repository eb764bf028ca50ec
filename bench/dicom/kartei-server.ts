// Kartei's DICOM side of `npm run bench:dicom` as a process of its own, like Orthanc's: a fresh
// installation whose listener serves until SIGTERM, so that its memory is the server's alone and
// nothing of the bench shares its event loop. A process of its own sets the installation up
// through the API first and exits: this one serves it like a server restarted after its setup,
// holding nothing only the setup needed (the password estimator above all).
//   node bench/dicom/kartei-server.ts '{"callingAet":"…","tls":<BenchTls>?}'
// Prints one JSON line { port, pid } when it listens; answers each line "count" on stdin with
// the number of instances stored, as one line.
import { execFileSync } from 'node:child_process';
import readline from 'node:readline';
import { setUpKarteiDicom, startKarteiDicom, type BenchTls, type KarteiSetUp } from './kartei.ts';

const opts = JSON.parse(process.argv[2]!) as { callingAet: string; tls?: BenchTls };
if (process.argv[3] === '--set-up') {
  process.stdout.write(`${JSON.stringify(await setUpKarteiDicom(opts))}\n`);
  process.exit(0);
}
const setUp = JSON.parse(
  execFileSync(process.execPath, [import.meta.filename, process.argv[2]!, '--set-up'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }),
) as KarteiSetUp;
const k = await startKarteiDicom({ ...opts, reopen: setUp });
process.stdout.write(`${JSON.stringify({ port: k.target.port, pid: process.pid })}\n`);
readline.createInterface({ input: process.stdin }).on('line', async (line) => {
  if (line === 'count') process.stdout.write(`${await k.countInstances()}\n`);
});
process.once('SIGTERM', async () => {
  await k.close();
  process.exit(0);
});
