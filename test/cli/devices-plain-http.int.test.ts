// `kartei devices` sends an administrator's API token with every call: never in the clear beyond this
// machine. An http:// KARTEI_PUBLIC_URL that is not loopback is refused before anything is sent (German,
// English with KARTEI_LANG=en); http:// to loopback and https:// anywhere are tried (here: not reachable).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { installationEnv, karteiRun } from '../helpers/kartei-cli.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-devices-http-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const TOKEN = 'kt_geheim_4711_plain_http';

function devicesList(publicUrl: string, lang: 'de' | 'en') {
  const env = installationEnv(dir, {
    KARTEI_PUBLIC_URL: publicUrl,
    KARTEI_API_TOKEN: TOKEN,
    KARTEI_LOG_LEVEL: 'silent',
    ...(lang === 'en' ? { KARTEI_LANG: 'en' } : {}),
  });
  return karteiRun(['devices', 'list'], env, { ms: 30_000 }).then((r) => ({
    status: r.status,
    out: r.stdout + r.stderr,
  }));
}

test('devices with an http:// address beyond loopback: refused before the token is sent; loopback and https:// are tried', async () => {
  const [de, en, loopback, secure] = await Promise.all([
    devicesList('http://kartei.invalid:8080', 'de'),
    devicesList('http://kartei.invalid:8080', 'en'),
    devicesList('http://[::1]:1', 'de'),
    devicesList('https://kartei.invalid', 'de'),
  ]);
  assert.equal(de.status, 1, de.out);
  assert.match(
    de.out,
    /wird nicht unverschlüsselt gesendet: http:\/\/kartei\.invalid:8080 ist eine http:\/\/-Adresse/,
    de.out,
  );
  assert.equal(en.status, 1, en.out);
  assert.match(en.out, /is not sent unencrypted: http:\/\/kartei\.invalid:8080 is an http:\/\/ address beyond/, en.out);
  // The two that may be used are tried: the server is not there, which is said as such.
  for (const r of [loopback, secure]) {
    assert.equal(r.status, 1, r.out);
    assert.match(r.out, /nicht erreichbar/, r.out);
    assert.doesNotMatch(r.out, /unverschlüsselt/, r.out);
  }
  for (const r of [de, en, loopback, secure]) assert.ok(!r.out.includes(TOKEN), `the token is printed: ${r.out}`);
});
