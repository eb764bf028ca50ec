// Orthanc (Debian packages `orthanc`, `orthanc-dicomweb`) as a plain child process for the
// DICOM benchmark: its own JSON configuration, storage and index in a fresh temporary
// directory, free loopback ports, HTTP basic authentication with one registered user, and
// DIMSE access only for the one registered bench AE (called AET and peer host checked).
//
// Orthanc 1.10.1 has no option for the listen address (its HTTP and DICOM servers bind to
// 0.0.0.0). To keep both on 127.0.0.1, Orthanc is started with a tiny LD_PRELOAD shim,
// compiled once with the system C compiler, that turns a bind() to the wildcard address into
// a bind() to loopback. Without a compiler it still runs (with a warning); then only
// `RemoteAccessAllowed: false` and `DicomCheckModalityHost` keep other hosts out.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { defaultCacheRoot } from './corpus.ts';
import { portOpen, type DicomTarget } from './dcmtk.ts';

export const ORTHANC_BINARY = '/usr/sbin/Orthanc';
const DICOMWEB_PLUGIN_CANDIDATES = [
  '/usr/share/orthanc/plugins/libOrthancDicomWeb.so',
  '/usr/lib/orthanc/libOrthancDicomWeb.so.1.7',
];

export interface OrthancOptions {
  /** Orthanc's own AE title (the called AET). Default ORTHANC. */
  aet?: string;
  /** The one AE allowed to store/find/get/move (the calling AET of the DCMTK clients). Default KARTEIBENCH. */
  callingAet?: string;
  user?: string;
  password?: string;
  /** fsync every stored file (Orthanc's default since 1.7.4: true). */
  syncStorageArea?: boolean;
  /** Orthanc's default "Always"; "Never" answers C-FIND/QIDO from the index only. */
  storageAccessOnFind?: 'Always' | 'Answers' | 'Never';
  /** Orthanc's default 16384 (allowed 4096..131072). */
  maximumPduLength?: number;
  /** Orthanc's default 4. */
  dicomThreads?: number;
  /** DICOM TLS on the DIMSE port (PEM files); clients must then present a certificate signed by `ca`. */
  tls?: { cert: string; key: string; ca: string };
  /** C-MOVE destinations Orthanc may send to (storescp on loopback), over DICOM TLS if `tls`. */
  destinations?: { aet: string; port: number; tls?: boolean }[];
  /** Extra top-level configuration entries, merged last. */
  extraConfig?: Record<string, unknown>;
  /** Keep the temporary directory (configuration, log, storage) after stop(). */
  keep?: boolean;
  /** Give up waiting for Orthanc to answer after this many ms. Default 60,000. */
  startTimeoutMs?: number;
}

export interface OrthancHandle {
  dicomPort: number;
  httpPort: number;
  /** Orthanc's AE title (called AET). */
  aet: string;
  /** The registered bench AE (calling AET). */
  callingAet: string;
  user: string;
  password: string;
  /** http://127.0.0.1:<httpPort> */
  baseUrl: string;
  /** http://127.0.0.1:<httpPort>/dicom-web */
  dicomWebUrl: string;
  /** { authorization: 'Basic …' } */
  authHeaders: Record<string, string>;
  /** Ready-made target for the drivers in dcmtk.ts. */
  target: DicomTarget;
  pid: number;
  version: string;
  dir: string;
  logFile: string;
  /** Whether the loopback-only bind shim was in effect. */
  loopbackOnly: boolean;
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (closed again before returning; good enough for a benchmark). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export function dicomWebPluginPath(): string {
  const listed = spawnSync('dpkg', ['-L', 'orthanc-dicomweb'], { encoding: 'utf8' });
  const fromPackage = (listed.stdout ?? '').split('\n').filter((l) => /libOrthancDicomWeb\.so/.test(l));
  for (const p of [
    ...fromPackage.filter((p) => p.startsWith('/usr/share/orthanc/plugins/')),
    ...fromPackage,
    ...DICOMWEB_PLUGIN_CANDIDATES,
  ]) {
    if (fs.existsSync(p)) return p;
  }
  throw new Error('Orthanc DICOMweb plugin not found: apt-get install -y orthanc-dicomweb');
}

const BIND_SHIM_C = `
#define _GNU_SOURCE
#include <dlfcn.h>
#include <string.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/socket.h>
/* Turns bind() to the wildcard address into bind() to loopback (IPv4 and IPv6). */
int bind(int fd, const struct sockaddr *addr, socklen_t len) {
  static int (*real)(int, const struct sockaddr *, socklen_t);
  if (!real) real = (int (*)(int, const struct sockaddr *, socklen_t))dlsym(RTLD_NEXT, "bind");
  if (addr && addr->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
    struct sockaddr_in a;
    memcpy(&a, addr, sizeof a);
    if (a.sin_addr.s_addr == htonl(INADDR_ANY)) {
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      return real(fd, (const struct sockaddr *)&a, sizeof a);
    }
  } else if (addr && addr->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
    struct sockaddr_in6 a;
    memcpy(&a, addr, sizeof a);
    if (memcmp(&a.sin6_addr, &in6addr_any, sizeof a.sin6_addr) == 0) {
      a.sin6_addr = in6addr_loopback;
      return real(fd, (const struct sockaddr *)&a, sizeof a);
    }
  }
  return real(fd, addr, len);
}
`;

/** Builds (once, cached) the loopback bind shim; returns its path, or null without a C compiler. */
export function loopbackBindShim(): string | null {
  const hash = crypto.createHash('sha256').update(BIND_SHIM_C).digest('hex').slice(0, 12);
  const dir = path.join(defaultCacheRoot(), 'bin');
  const so = path.join(dir, `bind-loopback-${hash}.so`);
  if (fs.existsSync(so)) return so;
  fs.mkdirSync(dir, { recursive: true });
  const src = path.join(dir, `bind-loopback-${hash}.c`);
  fs.writeFileSync(src, BIND_SHIM_C);
  const tmp = `${so}.${process.pid}.tmp`;
  const cc = spawnSync('cc', ['-shared', '-fPIC', '-O2', '-o', tmp, src, '-ldl'], { encoding: 'utf8' });
  if (cc.error || cc.status !== 0) return null;
  fs.renameSync(tmp, so);
  return so;
}

// Every Orthanc started here is killed when this process ends, however it ends.
const live = new Set<ChildProcess>();
let hooksInstalled = false;
function installExitHooks() {
  if (hooksInstalled) return;
  hooksInstalled = true;
  const killAll = () => {
    for (const c of live) c.kill('SIGKILL');
    live.clear();
  };
  process.on('exit', killAll);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      killAll();
      process.kill(process.pid, sig); // default action now that our handler is gone
    });
  }
}

async function waitUntilAnswering(
  child: ChildProcess,
  httpPort: number,
  dicomPort: number,
  auth: string,
  logFile: string,
  timeoutMs: number,
) {
  const deadline = Date.now() + timeoutMs;
  let exited: number | string | null = null;
  child.once('exit', (code, signal) => (exited = code ?? signal));
  while (Date.now() < deadline) {
    if (exited !== null) throw new Error(`Orthanc exited (${exited}) while starting; log:\n${tail(logFile)}`);
    try {
      const r = await fetch(`http://127.0.0.1:${httpPort}/system`, { headers: { authorization: auth } });
      if (r.ok) {
        const system = (await r.json()) as { Version: string };
        if (await portOpen(dicomPort)) return system.Version;
      } else await r.body?.cancel();
    } catch {
      // not yet listening
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`Orthanc did not answer within ${timeoutMs} ms; log:\n${tail(logFile)}`);
}

const tail = (file: string) => {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-30).join('\n');
  } catch {
    return '(no log)';
  }
};

export async function startOrthanc(opts: OrthancOptions = {}): Promise<OrthancHandle> {
  if (!fs.existsSync(ORTHANC_BINARY))
    throw new Error('Orthanc not installed: apt-get install -y orthanc orthanc-dicomweb');
  installExitHooks();
  const aet = opts.aet ?? 'ORTHANC';
  const callingAet = opts.callingAet ?? 'KARTEIBENCH';
  const user = opts.user ?? 'bench';
  const password = opts.password ?? crypto.randomBytes(12).toString('base64url');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-orthanc-'));
  const [httpPort, dicomPort, unusedModalityPort] = [await freePort(), await freePort(), await freePort()];
  const config = {
    Name: 'KarteiBenchOrthanc',
    StorageDirectory: path.join(dir, 'storage'),
    IndexDirectory: path.join(dir, 'index'),
    StorageCompression: false,
    SyncStorageArea: opts.syncStorageArea ?? true,
    StorageAccessOnFind: opts.storageAccessOnFind ?? 'Always',
    OverwriteInstances: false,
    Plugins: [dicomWebPluginPath()],
    ConcurrentJobs: 2,
    SaveJobs: false,
    // HTTP: loopback clients only, basic authentication with one registered user.
    HttpServerEnabled: true,
    HttpPort: httpPort,
    RemoteAccessAllowed: false,
    AuthenticationEnabled: true,
    RegisteredUsers: { [user]: password },
    SslEnabled: false,
    HttpCompressionEnabled: false,
    KeepAlive: true,
    TcpNoDelay: true,
    ExecuteLuaEnabled: false,
    RestApiWriteToFileSystemEnabled: false,
    WebDavEnabled: false,
    // DIMSE: only the registered bench AE, from 127.0.0.1, calling Orthanc by its AET.
    DicomServerEnabled: true,
    DicomAet: aet,
    DicomPort: dicomPort,
    DicomCheckCalledAet: true,
    DicomCheckModalityHost: true,
    DicomAlwaysAllowEcho: false,
    DicomAlwaysAllowStore: false,
    DicomAlwaysAllowFind: false,
    DicomAlwaysAllowFindWorklist: false,
    DicomAlwaysAllowGet: false,
    DicomAlwaysAllowMove: false,
    DicomModalitiesInDatabase: false,
    OrthancPeersInDatabase: false,
    DicomModalities: {
      bench: {
        AET: callingAet,
        Host: '127.0.0.1',
        Port: unusedModalityPort,
        AllowEcho: true,
        AllowStore: true,
        AllowFind: true,
        AllowGet: true,
        AllowMove: true,
        AllowFindWorklist: false,
        AllowStorageCommitment: false,
      },
      ...Object.fromEntries(
        (opts.destinations ?? []).map((d, i) => [
          `destination${i}`,
          {
            AET: d.aet,
            Host: '127.0.0.1',
            Port: d.port,
            UseDicomTls: !!d.tls,
            AllowEcho: false,
            AllowStore: false,
            AllowFind: false,
            AllowGet: false,
            AllowMove: false,
            AllowFindWorklist: false,
            AllowStorageCommitment: false,
          },
        ]),
      ),
    },
    OrthancPeers: {},
    MaximumPduLength: opts.maximumPduLength ?? 16384,
    DicomThreadsCount: opts.dicomThreads ?? 4,
    DefaultEncoding: 'Latin1',
    UnknownSopClassAccepted: false,
    ...(opts.tls
      ? {
          DicomTlsEnabled: true,
          DicomTlsCertificate: opts.tls.cert,
          DicomTlsPrivateKey: opts.tls.key,
          DicomTlsTrustedCertificates: opts.tls.ca,
          DicomTlsRemoteCertificateRequired: true,
        }
      : { DicomTlsEnabled: false }),
    DicomWeb: { Enable: true, Root: '/dicom-web/', EnableWado: false, Ssl: false, Host: `127.0.0.1:${httpPort}` },
    ...opts.extraConfig,
  };
  const configDir = path.join(dir, 'config');
  fs.mkdirSync(configDir);
  fs.writeFileSync(path.join(configDir, 'orthanc.json'), JSON.stringify(config, null, 2), { mode: 0o600 });
  const logFile = path.join(dir, 'orthanc.log');
  const log = fs.openSync(logFile, 'w');
  const shim = loopbackBindShim();
  if (!shim)
    process.stderr.write(
      'warning: no C compiler for the loopback bind shim; Orthanc listens on 0.0.0.0 (access still limited to 127.0.0.1 peers)\n',
    );
  const preload = [shim, process.env.LD_PRELOAD].filter(Boolean).join(':');
  const child = spawn(ORTHANC_BINARY, [configDir], {
    cwd: dir,
    stdio: ['ignore', log, log],
    env: { ...process.env, ...(preload ? { LD_PRELOAD: preload } : {}), TCP_NODELAY: '1' },
  });
  fs.closeSync(log);
  live.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  exited.then(() => live.delete(child));
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    }
    live.delete(child);
    if (!opts.keep) fs.rmSync(dir, { recursive: true, force: true });
  };
  const auth = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  let version: string;
  try {
    version = await waitUntilAnswering(child, httpPort, dicomPort, auth, logFile, opts.startTimeoutMs ?? 60_000);
  } catch (e) {
    await stop();
    throw e;
  }
  const baseUrl = `http://127.0.0.1:${httpPort}`;
  return {
    dicomPort,
    httpPort,
    aet,
    callingAet,
    user,
    password,
    baseUrl,
    dicomWebUrl: `${baseUrl}/dicom-web`,
    authHeaders: { authorization: auth },
    target: { host: '127.0.0.1', port: dicomPort, calledAet: aet, callingAet, ...(opts.tls ? { tls: opts.tls } : {}) },
    pid: child.pid!,
    version,
    dir,
    logFile,
    loopbackOnly: shim !== null,
    stop,
  };
}

/** Orthanc's own counts (GET /statistics). */
export async function orthancStatistics(o: Pick<OrthancHandle, 'baseUrl' | 'authHeaders'>) {
  const r = await fetch(`${o.baseUrl}/statistics`, { headers: o.authHeaders });
  if (!r.ok) throw new Error(`GET /statistics: ${r.status}`);
  return (await r.json()) as {
    CountInstances: number;
    CountSeries: number;
    CountStudies: number;
    CountPatients: number;
    TotalDiskSizeMB: number;
  };
}
