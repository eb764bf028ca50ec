// Kartei's DICOM side of `npm run bench:dicom` as a process of its own, like Orthanc's: a fresh
// installation (startKarteiDicom) whose listener serves until SIGTERM, so that its memory is the
// server's alone and nothing of the bench shares its event loop.
//   node --import tsx bench/dicom/kartei-server.ts '{"callingAet":"…","tls":<BenchTls>?}'
// Prints one JSON line { port, pid } when it listens; answers each line "count" on stdin with
// the number of instances stored, as one line.
import readline from 'node:readline';
import { startKarteiDicom, type BenchTls } from './kartei.ts';

const opts = JSON.parse(process.argv[2]!) as { callingAet: string; tls?: BenchTls };
const k = await startKarteiDicom(opts);
process.stdout.write(`${JSON.stringify({ port: k.target.port, pid: process.pid })}\n`);
readline.createInterface({ input: process.stdin }).on('line', async (line) => {
  if (line === 'count') process.stdout.write(`${await k.countInstances()}\n`);
});
process.once('SIGTERM', async () => {
  await k.close();
  process.exit(0);
});
