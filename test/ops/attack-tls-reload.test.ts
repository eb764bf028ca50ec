// Attack (issue 19, keys): TLS certificates reloaded without a restart, from the side of someone
// who can put files where the certificate lives (a renewal script, a shell account, a careless
// operator): a weak key the doctor calls critical, the certificate file replaced by a FIFO (a
// reload must not hang the server's event loop), a symlink to /etc/shadow (the reason given must
// not quote the file), a certificate for another host.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { certificateNames, loadTlsMaterial, TlsReloader } from '../../src/config/tls-reload.ts';
import { testCertificate } from '../helpers/certificates.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-attack-tls-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const good = testCertificate('attack-tls-good');

test('a reload refuses an RSA-1024 certificate, which kartei doctor calls critical', {}, () => {
  const weak = testCertificate('attack-tls-weak', { key: 'rsa:1024' });
  const m = loadTlsMaterial({ certFile: weak.certFile, keyFile: weak.keyFile });
  assert.equal(m.ok, false, 'an RSA-1024 certificate must keep the old one');
});

test('a certificate file replaced by a FIFO does not block the process that reloads', () => {
  const fifo = path.join(dir, 'server.crt');
  execFileSync('mkfifo', [fifo]);
  const script = `
    import { loadTlsMaterial } from ${JSON.stringify(path.resolve('src/config/tls-reload.ts'))};
    const m = loadTlsMaterial({ certFile: ${JSON.stringify(fifo)}, keyFile: ${JSON.stringify(good.keyFile)} });
    process.stdout.write(JSON.stringify(m));
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { timeout: 10_000, encoding: 'utf8' });
  assert.notEqual(
    r.signal,
    'SIGTERM',
    'loadTlsMaterial blocked on the FIFO (the event loop of a running server would hang)',
  );
  assert.equal(JSON.parse(r.stdout).ok, false);
});

test('a certificate file that is a symlink to /etc/shadow is refused without quoting it', () => {
  const link = path.join(dir, 'shadow.crt');
  fs.symlinkSync('/etc/shadow', link);
  const m = loadTlsMaterial({ certFile: link, keyFile: good.keyFile });
  assert.equal(m.ok, false);
  const reason = m.ok ? '' : m.reason;
  assert.doesNotMatch(reason, /root:|\$[0-9a-z]+\$/);
  // The key file a symlink to it: the same.
  const m2 = loadTlsMaterial({ certFile: good.certFile, keyFile: link });
  assert.equal(m2.ok, false);
  assert.doesNotMatch(m2.ok ? '' : m2.reason, /root:|\$[0-9a-z]+\$/);
});

test('a reload refuses a certificate that does not name the host the running one names', () => {
  const base = path.join(dir, 'other');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=other.example',
      '-addext',
      'subjectAltName=DNS:other.example',
      '-keyout',
      `${base}.key`,
      '-out',
      `${base}.crt`,
    ],
    { stdio: 'ignore' },
  );
  // The running certificate names localhost/127.0.0.1: a replacement for other.example only is a mistake.
  const running = certificateNames(new X509Certificate(fs.readFileSync(good.certFile)));
  assert.deepEqual(running, ['DNS:localhost', 'IP:127.0.0.1']);
  const m = loadTlsMaterial({ certFile: `${base}.crt`, keyFile: `${base}.key` }, Date.now(), running);
  assert.equal(m.ok, false, 'a certificate for other.example must not replace the one for localhost');
  assert.match(m.ok ? '' : m.reason, /does not cover DNS:localhost, IP:127\.0\.0\.1/);
  // Through the reloader (what SIGHUP and the file watch run): refused, the listener keeps its context.
  const live = path.join(dir, 'live');
  fs.mkdirSync(live);
  const files = { certFile: path.join(live, 'server.crt'), keyFile: path.join(live, 'server.key') };
  fs.copyFileSync(good.certFile, files.certFile);
  fs.copyFileSync(good.keyFile, files.keyFile);
  let set = 0;
  const reloader = new TlsReloader();
  reloader.add('https', files, { setSecureContext: () => void set++ });
  fs.copyFileSync(`${base}.crt`, files.certFile);
  fs.copyFileSync(`${base}.key`, files.keyFile);
  const [o] = reloader.reload();
  assert.equal(o?.result, 'refused');
  assert.equal(set, 0, 'the running context was not replaced');
  // A renewal for the same names (and more) is taken.
  const renewed = testCertificate('attack-tls-renewed');
  fs.copyFileSync(renewed.certFile, files.certFile);
  fs.copyFileSync(renewed.keyFile, files.keyFile);
  assert.equal(reloader.reload()[0]?.result, 'reloaded');
  assert.equal(set, 1);
});

test('a wildcard name is covered by the same wildcard, not by one host under it', () => {
  const make = (name: string, san: string) => {
    const base = path.join(dir, name);
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2'].concat([
        '-subj',
        `/CN=${name}`,
        '-addext',
        `subjectAltName=${san}`,
        '-keyout',
        `${base}.key`,
        '-out',
        `${base}.crt`,
      ]),
      { stdio: 'ignore' },
    );
    return { certFile: `${base}.crt`, keyFile: `${base}.key` };
  };
  const wild = make('wild', 'DNS:*.amt.example,IP:10.0.0.5');
  const running = certificateNames(new X509Certificate(fs.readFileSync(wild.certFile)));
  assert.deepEqual(running, ['DNS:*.amt.example', 'IP:10.0.0.5']);
  assert.equal(
    loadTlsMaterial(make('wild2', 'DNS:*.amt.example,DNS:x.example,IP:10.0.0.5'), Date.now(), running).ok,
    true,
  );
  assert.equal(loadTlsMaterial(make('one', 'DNS:kartei.amt.example,IP:10.0.0.5'), Date.now(), running).ok, false);
  assert.equal(loadTlsMaterial(make('noip', 'DNS:*.amt.example'), Date.now(), running).ok, false);
});
