// A real S3-compatible server for tests: s3rver on 127.0.0.1 (a free port) over
// a temporary directory, with one bucket, in a process of its own (its memory
// is not the test's), and the configuration and mode-600 credentials file
// Kartei reaches it with.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { S3Config } from '../../src/config/config.ts';

export interface S3TestServer {
  /** The server's data directory: everything the bucket holds, on disk. */
  directory: string;
  config: S3Config;
  stop(): Promise<void>;
}

const SERVER = new URL('./s3rver-process.ts', import.meta.url).pathname;

export async function startS3Server(bucket = 'kartei'): Promise<S3TestServer> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-s3-'));
  const directory = path.join(root, 'server');
  fs.mkdirSync(directory);
  const child: ChildProcess = spawn(process.execPath, [SERVER], {
    env: { ...process.env, DIR: directory, BUCKET: bucket },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(Number(out.trim()));
    });
    child.on('exit', (code) => reject(new Error(`s3rver exited (${code}) before it listened`)));
  });
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
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}
