// Issue 19: keys — TLS certificates reloaded without a restart. The files are read again, and
// the new certificate is taken only when it is whole: it parses, is valid now, its private key
// belongs to it, and (for DICOM) the device CA parses; then Node builds the context with our TLS
// policy. Otherwise the listener keeps the certificate it has and the reason is returned (for
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
  | { ok: true; options: SecureContextOptions; subject: string; validTo: string; fingerprint: string }
  | { ok: false; reason: string };

export function loadTlsMaterial(files: TlsFiles, now = Date.now()): TlsMaterial {
  const read = (file: string) => {
    try {
      return fs.readFileSync(file);
    } catch (e) {
      throw new Refusal(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
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
      throw new Refusal(`${files.certFile} holds no PEM certificate`);
    }
    if (Date.parse(x509.validTo) <= now) throw new Refusal(`the certificate expired on ${x509.validTo}`);
    if (Date.parse(x509.validFrom) > now) throw new Refusal(`the certificate is not valid before ${x509.validFrom}`);
    let privateKey: ReturnType<typeof createPrivateKey>;
    try {
      privateKey = createPrivateKey(key);
    } catch {
      throw new Refusal(`${files.keyFile} holds no readable private key (an encrypted key is not supported)`);
    }
    if (!x509.checkPrivateKey(privateKey))
      throw new Refusal(`the private key in ${files.keyFile} does not belong to the certificate`);
    if (ca) {
      try {
        new X509Certificate(ca);
      } catch {
        throw new Refusal(`${files.caFile} holds no PEM certificate`);
      }
    }
    const options: SecureContextOptions = { ...TLS_SERVER_POLICY, cert, key, ...(ca ? { ca } : {}) };
    try {
      tls.createSecureContext(options);
    } catch (e) {
      throw new Refusal(`the TLS library refused it: ${(e as Error).message}`);
    }
    return {
      ok: true,
      options,
      subject: x509.subject.replace(/\n/g, ', '),
      validTo: x509.validTo,
      fingerprint: x509.fingerprint256,
    };
  } catch (e) {
    if (e instanceof Refusal) return { ok: false, reason: e.message };
    throw e;
  }
}

class Refusal extends Error {}

/** What a listener that can change its certificate offers (an HTTPS server, the DICOM listener). */
export interface SecureContextTarget {
  setSecureContext(options: SecureContextOptions): void;
}

export interface TlsReloadOutcome {
  listener: 'https' | 'dicom' | 'metrics';
  /** Reloaded, unchanged (same certificate as before), or refused (the old one stays). */
  result: 'reloaded' | 'unchanged' | 'refused';
  reason?: string;
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
  }[] = [];

  add(name: 'https' | 'dicom' | 'metrics', files: TlsFiles, target: SecureContextTarget): void {
    const now = loadTlsMaterial(files);
    this.listeners.push({ name, files, target, fingerprint: now.ok ? now.fingerprint : undefined });
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
      const m = loadTlsMaterial(l.files, now);
      if (!m.ok) return { listener: l.name, result: 'refused', reason: m.reason };
      l.target.setSecureContext(m.options);
      const result = m.fingerprint === l.fingerprint ? 'unchanged' : 'reloaded';
      l.fingerprint = m.fingerprint;
      return { listener: l.name, result, subject: m.subject, validTo: m.validTo };
    });
  }
}
