// The S3 store's settings: read only with KARTEI_STORAGE=s3 and then complete,
// plain HTTP only to loopback, no secret in the environment, and a credentials
// file that is the owner's alone — each refusal saying what to do.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../src/config/config.ts';
import { configFindings } from '../../src/ops/security-findings.ts';
import { readS3Credentials, s3SealedStore } from '../../src/vault/sealed-objects-s3.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-s3-config-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const good = {
  KARTEI_STORAGE: 's3',
  KARTEI_S3_ENDPOINT: 'https://s3.gesundheitsamt.example',
  KARTEI_S3_BUCKET: 'kartei-bilder',
  KARTEI_S3_REGION: 'eu-central-1',
  KARTEI_S3_CREDENTIALS_FILE: '/etc/kartei/s3-credentials',
};

test('complete settings are taken: the endpoint as its origin, the prefix ending in a slash, the file by its full path', () => {
  assert.equal(loadConfig({}).s3, undefined, 'no S3 without KARTEI_STORAGE=s3');
  assert.deepEqual(loadConfig(good).s3, {
    endpoint: 'https://s3.gesundheitsamt.example',
    bucket: 'kartei-bilder',
    region: 'eu-central-1',
    prefix: '',
    credentialsFile: '/etc/kartei/s3-credentials',
  });
  const more = loadConfig({
    ...good,
    KARTEI_S3_ENDPOINT: 'https://10.1.2.3:9000/',
    KARTEI_S3_PREFIX: 'amt-nord/kartei',
    KARTEI_S3_CREDENTIALS_FILE: 'rel/creds',
  }).s3!;
  assert.equal(more.endpoint, 'https://10.1.2.3:9000');
  assert.equal(more.prefix, 'amt-nord/kartei/');
  assert.equal(more.credentialsFile, path.resolve('rel/creds'));
  for (const loopback of ['http://127.0.0.1:9000', 'http://localhost:9000', 'http://[::1]:9000'])
    assert.equal(loadConfig({ ...good, KARTEI_S3_ENDPOINT: loopback }).s3!.endpoint, loopback);
});

test('bad S3 settings are refused at start, each with what is wrong', () => {
  const refused: [Record<string, string>, RegExp][] = [
    [
      { KARTEI_S3_ENDPOINT: 'http://s3.gesundheitsamt.example' },
      /beyond loopback the object store is reached only over https/,
    ],
    [{ KARTEI_S3_ENDPOINT: 'http://10.0.0.5:9000' }, /only over https/],
    [{ KARTEI_S3_ENDPOINT: 'http://127.0.0.1.evil.example' }, /only over https/],
    [{ KARTEI_S3_ENDPOINT: 'ftp://s3.example' }, /must start with https:\/\//],
    [{ KARTEI_S3_ENDPOINT: 's3.example' }, /must be an address such as https:/],
    [{ KARTEI_S3_ENDPOINT: 'https://key:secret@s3.example' }, /without user, path or query/],
    [{ KARTEI_S3_ENDPOINT: 'https://s3.example/bucket' }, /without user, path or query/],
    [{ KARTEI_S3_ENDPOINT: '' }, /KARTEI_STORAGE=s3 needs KARTEI_S3_ENDPOINT/],
    [{ KARTEI_S3_BUCKET: '', KARTEI_S3_REGION: ' ' }, /needs KARTEI_S3_BUCKET, KARTEI_S3_REGION/],
    [{ KARTEI_S3_CREDENTIALS_FILE: '' }, /needs KARTEI_S3_CREDENTIALS_FILE/],
    [{ KARTEI_S3_BUCKET: 'Kartei_Bilder' }, /KARTEI_S3_BUCKET must be a bucket name/],
    [{ KARTEI_S3_REGION: 'EU Central' }, /KARTEI_S3_REGION must be a region name/],
    [{ KARTEI_S3_PREFIX: '/kartei' }, /KARTEI_S3_PREFIX must be names/],
    [{ KARTEI_S3_PREFIX: 'a/../b' }, /KARTEI_S3_PREFIX must be names/],
    [{ KARTEI_S3_PREFIX: 'a//b' }, /KARTEI_S3_PREFIX must be names/],
    [
      { KARTEI_S3_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI' },
      /KARTEI_S3_SECRET_ACCESS_KEY is no setting.*never from the environment/,
    ],
    [{ KARTEI_S3_ACCESS_KEY_ID: 'AKIA' }, /KARTEI_S3_ACCESS_KEY_ID is no setting/],
    [{ KARTEI_STORAGE: 'files' }, /KARTEI_S3_ENDPOINT, KARTEI_S3_BUCKET, .* set, but KARTEI_STORAGE is not s3/],
  ];
  for (const [change, message] of refused)
    assert.throws(
      () => loadConfig({ ...good, ...change }),
      (e: Error) => e instanceof ConfigError && message.test(e.message),
      JSON.stringify(change),
    );
  assert.throws(
    () => loadConfig({ KARTEI_S3_SECRET_ACCESS_KEY: 'x' }),
    /never from the environment/,
    'whatever the storage',
  );
});

test('the credentials file is read only when it is a regular file of mode 600 holding both keys', () => {
  const file = (name: string, text: string, mode = 0o600) => {
    const p = path.join(tmp, name);
    fs.writeFileSync(p, text, { mode });
    fs.chmodSync(p, mode);
    return p;
  };
  assert.deepEqual(
    readS3Credentials(file('ok', '# Kartei\naws_access_key_id = AKIA1\n\naws_secret_access_key=s3cr3t/+x\n')),
    {
      accessKeyId: 'AKIA1',
      secretAccessKey: 's3cr3t/+x',
    },
  );
  assert.deepEqual(
    readS3Credentials(
      file('token', 'aws_access_key_id = A\naws_secret_access_key = B\naws_session_token = C\n', 0o400),
    ),
    { accessKeyId: 'A', secretAccessKey: 'B', sessionToken: 'C' },
  );
  const refused: [string, RegExp][] = [
    [
      file('open', 'aws_access_key_id = A\naws_secret_access_key = B\n', 0o644),
      /readable by others \(mode 644\); run chmod 600/,
    ],
    [file('group', 'aws_access_key_id = A\naws_secret_access_key = B\n', 0o640), /readable by others \(mode 640\)/],
    [file('half', 'aws_access_key_id = A\n'), /must hold both aws_access_key_id/],
    [
      file('twice', 'aws_access_key_id = A\naws_access_key_id = B\naws_secret_access_key = C\n'),
      /line 2: .* each once/,
    ],
    [
      file('other', '[default]\naws_access_key_id = A\naws_secret_access_key = B\n'),
      /line 1: an S3 credentials file holds/,
    ],
    [file('big', `# ${'x'.repeat(5000)}\n`), /is no S3 credentials file/],
    // s24: echo — no such file: the value is not repeated (it may be the key itself).
    [path.join(tmp, 'missing'), /^KARTEI_S3_CREDENTIALS_FILE names no existing file \(the value is not repeated/],
    [tmp, /not a regular file/],
  ];
  fs.symlinkSync(path.join(tmp, 'ok'), path.join(tmp, 'link'));
  refused.push([path.join(tmp, 'link'), /symbolic link/]);
  for (const [p, message] of refused)
    assert.throws(
      () => readS3Credentials(p),
      (e: Error) => e instanceof ConfigError && message.test(e.message),
      p,
    );
  // The store is refused where its client is made, at start.
  const config = loadConfig({ ...good, KARTEI_S3_CREDENTIALS_FILE: path.join(tmp, 'open') }).s3!;
  assert.throws(() => s3SealedStore(config, 'images'), /readable by others/);
});

test('kartei doctor names an S3 credentials file readable by others', () => {
  const file = path.join(tmp, 'doctor-credentials');
  fs.writeFileSync(file, 'aws_access_key_id = A\naws_secret_access_key = B\n', { mode: 0o600 });
  fs.chmodSync(file, 0o640);
  const config = loadConfig({ ...good, KARTEI_DATA_DIR: path.join(tmp, 'data'), KARTEI_S3_CREDENTIALS_FILE: file });
  const f = configFindings(config).find((x) => x.code === 's3-credentials-readable');
  assert.equal(f?.severity, 'high');
  assert.match(f!.title, /mode 640/);
  assert.deepEqual(f!.params, { path: file, mode: '640' });
  fs.chmodSync(file, 0o600);
  assert.ok(!configFindings(config).some((x) => x.code === 's3-credentials-readable'));
});
