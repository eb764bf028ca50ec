// The process s3-server.ts starts: s3rver on 127.0.0.1 (a free port, printed)
// over the directory DIR with the bucket BUCKET, until SIGTERM or until the
// test's process is gone (its end of stdin closed).
import S3rver from 's3rver';

const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory: process.env.DIR!,
  configureBuckets: [{ name: process.env.BUCKET!, configs: [] }],
});
const { port } = await server.run();
process.stdout.write(`${port}\n`);
const stop = () => server.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.stdin.on('end', stop).resume();
