// A real S3-compatible server for tests: s3rver on 127.0.0.1 (a free port) over
// a temporary directory, with one bucket, and the configuration and mode-600
// credentials file Kartei reaches it with.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import S3rver from 's3rver';
import type { S3Config } from '../../src/config/config.ts';

export interface S3TestServer {
  /** The server's data directory: everything the bucket holds, on disk. */
  directory: string;
  config: S3Config;
  stop(): Promise<void>;
}

export async function startS3Server(bucket = 'kartei'): Promise<S3TestServer> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-s3-'));
  const directory = path.join(root, 'server');
  fs.mkdirSync(directory);
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: [{ name: bucket, configs: [] }],
  });
  const { port } = await server.run();
  const credentialsFile = path.join(root, 's3-credentials');
  // s3rver checks signatures against these.
  fs.writeFileSync(credentialsFile, 'aws_access_key_id = S3RVER\naws_secret_access_key = S3RVER\n', { mode: 0o600 });
  return {
    directory,
    config: {
      endpoint: `http://127.0.0.1:${port}`,
      bucket,
      region: 'eu-central-1',
      prefix: 'office/',
      credentialsFile,
    },
    async stop() {
      await server.close();
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}
