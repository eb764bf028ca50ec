// Debian's nginx for the reverse-proxy tests (deploy/nginx/kartei.conf, issue 19): the operators'
// server blocks placed into a throwaway prefix (its own nginx.conf, logs, temp paths and pid file,
// nothing of /etc/nginx), checked with `nginx -t`, and run in the foreground until stopped; and
// HTTPS requests from a chosen loopback address with the test CA.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** The nginx program, or undefined when it is not installed. */
export const NGINX = ['nginx', '/usr/sbin/nginx'].find((p) => spawnSync(p, ['-v']).status === 0);

/** A prefix directory with a main configuration that includes `serverBlocks` in its http block. */
export function nginxPrefix(dir: string, serverBlocks: string): string {
  fs.mkdirSync(dir, { recursive: true });
  // Workers (nobody, when started as root) create their temp directories below it.
  fs.chmodSync(dir, 0o755);
  fs.writeFileSync(path.join(dir, 'kartei.conf'), serverBlocks);
  const main = path.join(dir, 'nginx.conf');
  fs.writeFileSync(
    main,
    [
      'worker_processes 1;',
      `pid ${dir}/nginx.pid;`,
      `error_log ${dir}/error.log info;`,
      'events { worker_connections 128; }',
      'http {',
      `  access_log ${dir}/access.log;`,
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${dir}/${t}-temp;`),
      `  include ${dir}/kartei.conf;`,
      '}',
      '',
    ].join('\n'),
  );
  return main;
}

/** `nginx -t` on a prefix: its status and what it said. */
export function nginxTest(dir: string): { status: number | null; out: string } {
  const r = spawnSync(
    NGINX!,
    ['-t', '-p', dir, '-c', path.join(dir, 'nginx.conf'), '-e', path.join(dir, 'error.log')],
    {
      encoding: 'utf8',
    },
  );
  return { status: r.status, out: `${r.stdout}${r.stderr}`.trim() };
}

export interface RunningNginx {
  process: ChildProcess;
  /** SIGQUIT (graceful), then the exit code. */
  stop(): Promise<number | null>;
}

/** nginx in the foreground on a prefix, once `ready()` says it answers. */
export async function startNginx(dir: string, ready: () => Promise<boolean>): Promise<RunningNginx> {
  const child = spawn(
    NGINX!,
    ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-e', path.join(dir, 'error.log'), '-g', 'daemon off;'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGQUIT');
    return exited;
  };
  for (const deadline = Date.now() + 20_000; Date.now() < deadline; await sleep(100)) {
    if (child.exitCode !== null) break;
    if (await ready().catch(() => false)) return { process: child, stop };
  }
  await stop();
  throw new Error(`nginx did not start: ${err}${fs.readFileSync(path.join(dir, 'error.log'), 'utf8')}`);
}

export interface TlsAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTPS request (its own connection) to 127.0.0.1:`port` from `localAddress`, trusting `ca`. */
export function httpsRequest(o: {
  port: number;
  ca: string;
  path: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  localAddress?: string;
}): Promise<TlsAnswer> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port: o.port,
        servername: 'localhost',
        ca: o.ca,
        agent: false,
        method: o.method ?? 'GET',
        path: o.path,
        headers: o.headers,
        localAddress: o.localAddress,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(o.body);
  });
}
