// Issue 19: keys — TLS certificates reloaded without a restart. The files are read again, and
// the new certificate is taken only when it is whole: each file a regular file read without
// blocking, it parses, is valid now, covers the names the certificate the listener started with
// covers, its private key belongs to it, and (for DICOM) the device CA parses; then Node builds
// the context with our TLS policy. Otherwise the listener keeps the certificate it has and the reason is returned (for
// the log), never the key's bytes. `kartei serve` reloads on SIGHUP (`kartei keys reload-tls`),
// and src/server.ts looks at the files' change times every so often.
import fs from 'node:fs';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import tls, { type SecureContextOptions } from 'node:tls';
import { TLS_SERVER_POLICY } from './tls-policy.ts';

export interface TlsFiles {
  certFile: string;
  keyFile: string;
  /** The CA device certificates are verified against (the DICOM listener). */
  caFile?: string;
}

/** A listener's certificate checked and ready for `setSecureContext`, or why it was refused. */
export type TlsMaterial =
  | {
      ok: true;
      options: SecureContextOptions;
      subject: string;
      validTo: string;
      fingerprint: string;
      /** Its subject alternative names (`certificateNames`). */
      names: string[];
    }
  | { ok: false; reason: string; refused: TlsRefusal };

/** Why a certificate was refused, as a code and its facts (`kartei` says them in German; src/cli/refusals.ts). */
export interface TlsRefusal {
  code:
    | 'tls-file-unreadable'
    | 'tls-cert-not-pem'
    | 'tls-cert-expired'
    | 'tls-cert-not-yet-valid'
    | 'tls-cert-names'
    | 'tls-key-unreadable'
    | 'tls-key-mismatch'
    | 'tls-ca-not-pem'
    | 'tls-library';
  /** The file the refusal is about, where there is one. */
  file?: string;
  params: Record<string, string>;
}

/** Issue 19: keys2 — a certificate, key or CA file is small: larger is no such file. */
const MAX_TLS_FILE_BYTES = 1024 * 1024;

/**
 * Issue 19: keys2 — a certificate's, key's or CA's bytes without ever blocking: opened
 * non-blocking (a FIFO in its place would hang the event loop of the server that reloads), only a
 * regular file (links followed: certbot's live/ names are links), at most 1 MB, read through the
 * descriptor it was checked on.
 */
export function readTlsFile(file: string): Buffer {
  return readSmallFile(file, MAX_TLS_FILE_BYTES).bytes;
}

/**
 * s25: a small file's bytes and mode, read as readTlsFile says (non-blocking, a regular file only, at
 * most `maxBytes`, through the descriptor it was checked on): also the metrics token's.
 */
export function readSmallFile(file: string, maxBytes: number): { bytes: Buffer; mode: number } {
  const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new Error('not a regular file');
    if (st.size > maxBytes) throw new Error(`larger than ${maxBytes} bytes`);
    return { bytes: fs.readFileSync(fd), mode: st.mode & 0o777 };
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Issue 19: keys2 — the host names and IP addresses a certificate's subject alternative names
 * cover, as `DNS:name` / `IP:address` (wildcards as written).
 */
export function certificateNames(x509: X509Certificate): string[] {
  return (x509.subjectAltName ?? '')
    .split(/,\s*/)
    .map((n) => n.trim().replace(/^IP Address:/, 'IP:'))
    .filter((n) => n.startsWith('DNS:') || n.startsWith('IP:'));
}

/**
 * Loads and checks a listener's certificate. `mustName` (the names the running certificate covers,
 * from `certificateNames`): a new certificate that does not cover each of them is refused — after
 * a renewal for the wrong host every client would fail. `anyTime` (the start): a certificate that
 * expired or is not valid yet is taken (clients refuse it; `kartei doctor` says so critically).
 */
export function loadTlsMaterial(
  files: TlsFiles,
  now = Date.now(),
  mustName: string[] = [],
  anyTime = false,
): TlsMaterial {
  const read = (file: string) => {
    try {
      return readTlsFile(file);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
      throw new Refusal(`cannot read ${file}: ${code}`, 'tls-file-unreadable', file, { code });
    }
  };
  try {
    const cert = read(files.certFile);
    const key = read(files.keyFile);
    const ca = files.caFile ? read(files.caFile) : undefined;
    let x509: X509Certificate;
    try {
      x509 = new X509Certificate(cert);
    } catch {
      throw new Refusal(`${files.certFile} holds no PEM certificate`, 'tls-cert-not-pem', files.certFile);
    }
    if (!anyTime && Date.parse(x509.validTo) <= now)
      throw new Refusal(`the certificate expired on ${x509.validTo}`, 'tls-cert-expired', files.certFile, {
        at: x509.validTo,
      });
    if (!anyTime && Date.parse(x509.validFrom) > now)
      throw new Refusal(
        `the certificate is not valid before ${x509.validFrom}`,
        'tls-cert-not-yet-valid',
        files.certFile,
        {
          at: x509.validFrom,
        },
      );
    const has = certificateNames(x509);
    const covers = (n: string) =>
      has.includes(n) ||
      (n.startsWith('IP:')
        ? x509.checkIP(n.slice(3)) !== undefined
        : x509.checkHost(n.slice(4).replace(/^\*\./, 'kartei-check.')) !== undefined);
    const missing = mustName.filter((n) => !covers(n));
    if (missing.length)
      throw new Refusal(
        `the certificate does not cover ${missing.join(', ')}, which the running one covers (its names: ${has.join(', ') || 'none'})`,
        'tls-cert-names',
        files.certFile,
        { missing: missing.join(', '), names: has.join(', ') || '–' },
      );
    let privateKey: ReturnType<typeof createPrivateKey>;
    try {
      privateKey = createPrivateKey(key);
    } catch {
      throw new Refusal(
        `${files.keyFile} holds no readable private key (an encrypted key is not supported)`,
        'tls-key-unreadable',
        files.keyFile,
      );
    }
    if (!x509.checkPrivateKey(privateKey))
      throw new Refusal(
        `the private key in ${files.keyFile} does not belong to the certificate`,
        'tls-key-mismatch',
        files.keyFile,
      );
    if (ca) {
      try {
        new X509Certificate(ca);
      } catch {
        throw new Refusal(`${files.caFile} holds no PEM certificate`, 'tls-ca-not-pem', files.caFile);
      }
    }
    const options: SecureContextOptions = { ...TLS_SERVER_POLICY, cert, key, ...(ca ? { ca } : {}) };
    try {
      tls.createSecureContext(options);
    } catch (e) {
      const reason = (e as Error).message;
      throw new Refusal(`the TLS library refused it: ${reason}`, 'tls-library', undefined, { reason });
    }
    return {
      ok: true,
      options,
      subject: x509.subject.replace(/\n/g, ', '),
      validTo: x509.validTo,
      fingerprint: x509.fingerprint256,
      names: certificateNames(x509),
    };
  } catch (e) {
    if (e instanceof Refusal)
      return {
        ok: false,
        reason: e.message,
        refused: { code: e.code, ...(e.file ? { file: e.file } : {}), params: { ...e.params, file: e.file ?? '' } },
      };
    throw e;
  }
}

class Refusal extends Error {
  readonly code: TlsRefusal['code'];
  readonly file: string | undefined;
  readonly params: Record<string, string>;
  constructor(message: string, code: TlsRefusal['code'], file?: string, params: Record<string, string> = {}) {
    super(message);
    this.code = code;
    this.file = file;
    this.params = params;
  }
}

/** What a listener that can change its certificate offers (an HTTPS server, the DICOM listener). */
export interface SecureContextTarget {
  setSecureContext(options: SecureContextOptions): void;
}

export interface TlsReloadOutcome {
  listener: 'https' | 'dicom' | 'metrics';
  /** Reloaded, unchanged (same certificate as before), or refused (the old one stays). */
  result: 'reloaded' | 'unchanged' | 'refused';
  reason?: string;
  /** s25: a refusal's code (TlsRefusal), for the log's `problem` (the logger redacts `*.code`). */
  problem?: string;
  subject?: string;
  validTo?: string;
}

/** Each listener's files and target; `reload` checks and applies them, one outcome per listener. */
export class TlsReloader {
  private readonly listeners: {
    name: 'https' | 'dicom' | 'metrics';
    files: TlsFiles;
    target: SecureContextTarget;
    fingerprint?: string;
    /** The names the certificate it started with covers: every reload must cover them too. */
    names: string[];
  }[] = [];

  /** s25: `started`, the material the listener was started with (its files are not read again here). */
  add(name: 'https' | 'dicom' | 'metrics', files: TlsFiles, target: SecureContextTarget, started?: TlsMaterial): void {
    const now = started ?? loadTlsMaterial(files);
    this.listeners.push({
      name,
      files,
      target,
      fingerprint: now.ok ? now.fingerprint : undefined,
      names: now.ok ? now.names : [],
    });
  }

  get files(): string[] {
    return this.listeners.flatMap((l) => [
      l.files.certFile,
      l.files.keyFile,
      ...(l.files.caFile ? [l.files.caFile] : []),
    ]);
  }

  reload(now = Date.now()): TlsReloadOutcome[] {
    return this.listeners.map((l) => {
      const m = loadTlsMaterial(l.files, now, l.names);
      if (!m.ok) return { listener: l.name, result: 'refused', reason: m.reason, problem: m.refused.code };
      // s25: checked by the same library call above; should the listener still refuse it, the old one stays.
      try {
        l.target.setSecureContext(m.options);
      } catch (e) {
        return { listener: l.name, result: 'refused', reason: (e as Error).message, problem: 'tls-library' };
      }
      const result = m.fingerprint === l.fingerprint ? 'unchanged' : 'reloaded';
      l.fingerprint = m.fingerprint;
      return { listener: l.name, result, subject: m.subject, validTo: m.validTo };
    });
  }
}
