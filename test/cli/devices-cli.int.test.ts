// `kartei devices` as an operator runs it against a running server: with an
// administrator's API token it registers, lists and removes devices through
// the API (and so through the gate and the audit log); without a token, with a
// clerk's token, or with bad input it fails with the server's reason.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { startHarness, setUpTenant, freePort, nextCode, type Harness, type Tenant } from '../helpers/harness.ts';
import { testCertificate } from '../helpers/certificates.ts';
import fs from 'node:fs';

const BIN = path.resolve(import.meta.dirname, '../../bin/kartei.js');
let h: Harness;
let t: Tenant;
let url: string;
let adminToken: string;

before(async () => {
  h = await startHarness();
  t = await setUpTenant(h, ['TB']);
  const port = await freePort();
  await h.app.listen({ host: '127.0.0.1', port });
  url = `http://127.0.0.1:${port}`;
  // The CLI needs the admin scope, which needs a fresh code of the second factor.
  adminToken = (
    await t.admin.post('/api/auth/tokens', {
      name: 'cli',
      scopes: ['admin'],
      expiresInDays: 1,
      code: nextCode(h, 'admin'),
    })
  ).body.token;
});
after(() => h.close());

function kartei(args: string[], token?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    KARTEI_PUBLIC_URL: url,
    KARTEI_LANG: 'en', // the command's English words: this test is about what it does
    KARTEI_DATA_DIR: h.config.dataDir,
    KARTEI_KEY_DIR: h.config.keyDir,
  };
  if (token) env.KARTEI_API_TOKEN = token;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'devices', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(killer);
      resolve({ code, stdout, stderr });
    });
  });
}

test('an administrator registers, lists and removes a device from the command line', async () => {
  const cert = testCertificate('CLI-MODALITY');
  const pem = path.join(h.dir, 'device.pem');
  fs.writeFileSync(pem, cert.cert);
  const added = await kartei(
    ['add', '--ae', 'CR_TB_2', '--department', 'TB', '--permissions', 'store,find', '--certificate', pem],
    adminToken,
  );
  assert.equal(added.code, 0, added.stderr);
  const id = added.stdout.trim();
  const list = await kartei(['list'], adminToken);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, new RegExp(`${id}\\s+CR_TB_2\\s+${t.departments.TB}\\s+find,store\\s+certificate`));
  const dup = await kartei(
    ['add', '--ae', 'CR_TB_2', '--department', 'TB', '--permissions', 'store', '--host', '127.0.0.1'],
    adminToken,
  );
  assert.equal(dup.code, 1);
  assert.match(dup.stderr, /409 aeTitle: this AE title is taken in this office/);
  assert.equal((await kartei(['remove', id], adminToken)).code, 0);
  assert.doesNotMatch((await kartei(['list'], adminToken)).stdout, /CR_TB_2/);
  const dpo = await t.user({ tenantRoles: ['dpo'] });
  const actions = (await dpo.get(`/api/audit?actorId=${t.adminId}`)).body.map((e: { action: string }) => e.action);
  for (const a of ['admin.device.create', 'admin.device.list', 'admin.device.remove'])
    assert.ok(actions.includes(a), a);
});

test("without a token, with a clerk's token or with bad input the command fails and says why", async () => {
  const none = await kartei(['list']);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /KARTEI_API_TOKEN/);
  const clerk = await t.user({ memberships: [{ departmentId: t.departments.TB!, role: 'clerk' }] });
  const clerkToken = (await clerk.post('/api/auth/tokens', { name: 'x', scopes: ['records:read'], expiresInDays: 1 }))
    .body.token;
  const refused = await kartei(['list'], clerkToken);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /403/);
  const badHost = await kartei(
    ['add', '--ae', 'X', '--department', 'TB', '--permissions', 'store', '--host', '192.0.2.1'],
    adminToken,
  );
  assert.match(badHost.stderr, /422 host: without a certificate, only a loopback host can be trusted/);
  const noDept = await kartei(
    ['add', '--ae', 'X', '--department', 'NOPE', '--permissions', 'store', '--host', '127.0.0.1'],
    adminToken,
  );
  assert.match(noDept.stderr, /no department with code or id "NOPE"/);
  const typo = await kartei(['add', '--aet', 'X'], adminToken);
  assert.equal(typo.code, 1);
  assert.match(typo.stderr, /usage: kartei devices/);
  assert.equal((await kartei(['list'], 'kt_wrong')).code, 1);
});
