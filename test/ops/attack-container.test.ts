// Attack (issue 19, deploy/docker): `COPY . .` takes the whole checkout into the build stage and the
// run stage copies /opt/kartei from it, so whatever the ignore file lets through is in an image layer
// for anyone who can pull the image. A checkout where the operator keeps the TLS key, a kartei.env with
// the database password, or a key directory must not bake them in. The patterns are matched here the
// way BuildKit matches them for these simple forms (`**/` any depth, `*` within a name).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../..');
const patterns = fs
  .readFileSync(path.join(ROOT, 'deploy/docker/Dockerfile.dockerignore'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));

const toRegExp = (p: string) =>
  new RegExp(
    `^${p
      .split('/')
      .map((part) =>
        part === '**' ? '(?:.*/)?' : `${part.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}/`,
      )
      .join('')
      .replace(/\/$/, '')
      .replace(/\(\?:\.\*\/\)\?\//g, '(?:.*/)?')}(?:/.*)?$`,
  );
const ignored = (file: string) => patterns.some((p) => toRegExp(p).test(file));

test('secrets an operator may keep in the checkout are not in the build context', () => {
  for (const f of [
    'deploy/tls/privkey.pem',
    'fullchain.pem',
    'server.key',
    'deploy/systemd/kartei.env',
    '.env',
    '.env.production',
    'keys/master.key',
    'data/kartei.sqlite',
    '.git/config',
    '.tmp/pg/data/postgresql.conf',
  ])
    assert.ok(ignored(f), `${f} would be copied into the image`);
  for (const f of ['src/server.ts', 'package.json', 'deploy/systemd/kartei.env.example', 'bin/kartei.js'])
    assert.ok(!ignored(f), `${f} is needed in the image`);
});
