// Attack (s24-secrets-echo): a secret put where an address or a file's name belongs, and the refusal said
// it back. A KARTEI_S3_ENDPOINT holding a password but no `@` (`minio:geheim` — the URL parser reads
// `minio:` as the scheme), one that is no address at all, or one of another scheme was repeated whole; a
// KARTEI_S3_CREDENTIALS_FILE holding the key itself instead of a file's name was repeated as "the file";
// `kartei devices` repeated KARTEI_PUBLIC_URL with its `user:password@`, and `kartei serve` printed it in
// the setup link. Each refusal names the setting (or the file) and the shape expected; the secret is in
// neither stdout nor stderr, in German or in English.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { installationEnv, karteiRun } from '../helpers/kartei-cli.ts';
import { devicesCommand } from '../../src/cli/device-commands.ts';
import { CliError } from '../../src/cli/cli-error.ts';
import { loadConfig } from '../../src/config/config.ts';

const SECRET = 'geheim-Sommer2026';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-echo-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** `kartei …` on `home`'s data and key directories (apart per language: the two run side by side). */
function kartei(args: string[], extra: Record<string, string>, lang: 'de' | 'en', home = dir) {
  const env = installationEnv(path.join(home, lang), {
    KARTEI_LOG_LEVEL: 'info',
    KARTEI_LISTEN: '127.0.0.1:18741',
    KARTEI_DICOM_LISTEN: 'off',
    KARTEI_METRICS_LISTEN: 'off',
    ...(lang === 'en' ? { KARTEI_LANG: 'en' } : {}),
    ...extra,
  });
  // A server that started anyway is stopped: the assertions below then fail.
  return karteiRun(args, env, { ms: 20_000, kill: 'SIGTERM' });
}

/** Both languages of one run: exit 1, the secret nowhere, the line naming `name` in each language. */
async function refusedWithout(
  args: string[],
  env: Record<string, string>,
  name: string,
  said: { de: RegExp; en: RegExp },
  home = dir,
) {
  const secrets = [SECRET];
  const runs = await Promise.all([kartei(args, env, 'de', home), kartei(args, env, 'en', home)]);
  for (const [i, { status, stdout, stderr }] of runs.entries()) {
    const what = `${args.join(' ')} ${JSON.stringify(env)} (${i ? 'en' : 'de'}): ${stdout}${stderr}`;
    assert.equal(status, 1, what);
    for (const secret of secrets) assert.ok(!`${stdout}${stderr}`.includes(secret), `the secret is repeated: ${what}`);
    assert.match(stderr, new RegExp(`^kartei: .*${name}`, 'm'), what);
    assert.match(stderr, i ? said.en : said.de, what);
    assert.doesNotMatch(stderr, /^\s+at /m, what);
  }
}

const S3 = {
  KARTEI_STORAGE: 's3',
  KARTEI_S3_BUCKET: 'kartei-akten',
  KARTEI_S3_REGION: 'eu-central-1',
  KARTEI_S3_CREDENTIALS_FILE: '/etc/kartei/s3',
};

test('a KARTEI_S3_ENDPOINT that is no https address, with a password in it: refused naming the setting, the password nowhere', async () => {
  const cases: { endpoint: string; de: RegExp; en: RegExp }[] = [
    // Node's URL parser reads `minio:` as a scheme and `geheim…` as the path: no `@` to mask.
    {
      endpoint: `minio:${SECRET}`,
      de: /muss eine Adresse wie https:\/\//,
      en: /must be an address such as https:\/\//,
    },
    {
      endpoint: `user:${SECRET}/x`,
      de: /muss eine Adresse wie https:\/\//,
      en: /must be an address such as https:\/\//,
    },
    { endpoint: `minio:${SECRET}@s3.amt`, de: /muss eine Adresse/, en: /must be an address/ },
    // No address at all: the whole value may be the secret.
    { endpoint: SECRET, de: /muss eine Adresse/, en: /must be an address/ },
    { endpoint: `https://AKIA:${SECRET} x@s3 amt`, de: /muss eine Adresse/, en: /must be an address/ },
    // Another scheme: at most the scheme is said.
    {
      endpoint: `ftp://AKIA:${SECRET}@s3.example.org`,
      de: /muss mit https:\/\/ beginnen.*ftp:\/\//,
      en: /must start with https:\/\/.*ftp:\/\//,
    },
    {
      endpoint: `s3://${SECRET}`,
      de: /muss mit https:\/\/ beginnen.*s3:\/\//,
      en: /must start with https:\/\/.*s3:\/\//,
    },
    // An https address with more in it: its origin is said, the rest is not.
    {
      endpoint: `https://AKIA:${SECRET}@s3.example.org/${SECRET}?X-Amz-Signature=${SECRET}`,
      de: /nennt nur Schema, Rechner und Port.*https:\/\/s3\.example\.org/,
      en: /must be scheme, host and port only.*https:\/\/s3\.example\.org/,
    },
  ];
  await Promise.all(
    cases.map(({ endpoint, de, en }) =>
      refusedWithout(['serve'], { ...S3, KARTEI_S3_ENDPOINT: endpoint }, 'KARTEI_S3_ENDPOINT', { de, en }),
    ),
  );
  for (const lang of ['de', 'en']) assert.equal(fs.existsSync(path.join(dir, lang)), false, 'nothing was set up');
});

test('a KARTEI_S3_CREDENTIALS_FILE holding the key itself, or naming a file of one bad line: refused naming the setting or the file, the key nowhere', async () => {
  const env = { ...S3, KARTEI_S3_ENDPOINT: 'http://127.0.0.1:1' };
  // The server has taken its data directory (and made its keys) when it opens the store: a home of its own.
  const home = path.join(dir, 'files');
  // The key pasted into the setting (one line: not caught as a file's content): read as a path, the
  // refusal named "the file" — the key.
  for (const pasted of [`AKIAEXAMPLE:${SECRET}`, `aws_secret_access_key=${SECRET}`, `wJalrXUtnFEMI/K7MDENG/${SECRET}`])
    await refusedWithout(
      ['serve'],
      { ...env, KARTEI_S3_CREDENTIALS_FILE: pasted },
      'KARTEI_S3_CREDENTIALS_FILE',
      { de: /nennt keine vorhandene Datei/, en: /names no existing file/ },
      home,
    );
  // A file of one line (or a profile header, as ~/.aws/credentials has): named, its content not said.
  const contents = [
    `AKIAEXAMPLE:${SECRET}`,
    `[default]\naws_access_key_id = AKIA\naws_secret_access_key = ${SECRET}\n`,
  ];
  for (const [n, content] of contents.entries()) {
    const file = path.join(dir, `s3-credentials-${n}`);
    fs.writeFileSync(file, content, { mode: 0o600 });
    const said = {
      de: /aws_access_key_id = … und aws_secret_access_key = …/,
      en: /aws_access_key_id = … and aws_secret_access_key = …/,
    };
    await refusedWithout(['serve'], { ...env, KARTEI_S3_CREDENTIALS_FILE: file }, file, said, home);
  }
});

test('a KARTEI_PUBLIC_URL with a user and password, or that is no address: refused by every command naming the setting, the password nowhere', async () => {
  const token = { KARTEI_API_TOKEN: 'kt_nicht-geheim' };
  for (const url of [`https://admin:${SECRET}@kartei.amt.example`, `http://admin:${SECRET} x@127.0.0.1:1`])
    for (const args of [['serve'], ['devices', 'list'], ['offices', 'list'], ['doctor']])
      await refusedWithout(args, { ...token, KARTEI_PUBLIC_URL: url }, 'KARTEI_PUBLIC_URL', {
        de: /KARTEI_PUBLIC_URL muss die Adresse sein, die die Nutzenden öffnen/,
        en: /KARTEI_PUBLIC_URL must be the address users open/,
      });
  for (const lang of ['de', 'en']) assert.equal(fs.existsSync(path.join(dir, lang)), false, 'nothing was set up');
});

test('kartei devices where the server is not reached: the address said without its user, password or query', async () => {
  // Refused as a setting before (above); here the command itself, given such an address, must not say it.
  const closed = await new Promise<number>((resolve) => {
    const s = http.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
  const env = { KARTEI_API_TOKEN: 'kt_x' };
  for (const publicUrl of [
    `http://admin:${SECRET}@127.0.0.1:${closed}`,
    `http://127.0.0.1:${closed}/?token=${SECRET}`,
    `http://127.0.0.1:${closed}/#${SECRET}`,
  ]) {
    const config = { ...loadConfig({}), publicUrl };
    await assert.rejects(
      devicesCommand(config, ['list'], env),
      (e: unknown) =>
        e instanceof CliError &&
        !e.message.includes(SECRET) &&
        e.message.includes(`127.0.0.1:${closed}`) &&
        e.message.includes('KARTEI_PUBLIC_URL'),
      publicUrl,
    );
  }
});
