// WADO-RS reuses and frees buffers (pooled reads in vault/stream-open.ts; each
// decrypted piece wiped and freed once the response has written it): two
// studies retrieved at once, one by a client that reads slowly so that the
// server's writes back up, each come back byte for byte as stored, over HTTP
// and over HTTPS (where a write is in flight most of the time).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { startHarness, setUpTenant, type Client, type Harness, type Tenant } from '../helpers/harness.ts';
import { makeInstance, newUid, type TestInstance } from '../helpers/dicom-files.ts';
import { testCa, testCertificate } from '../helpers/certificates.ts';
import { buildApp } from '../../src/http/app.ts';

let h: Harness;
let t: Tenant;
let clerk: Client & { id: string };
let base: string;
let secureBase: string;
let secureApp: Awaited<ReturnType<typeof buildApp>> | undefined;
/** Two studies of three instances, ~4.7 MB each: a study is more than the loopback socket buffers hold. */
const studies: TestInstance[][] = [];

before(async () => {
  h = await startHarness({ dicom: true });
  t = await setUpTenant(h, ['TB']);
  const device = await t.admin.post('/api/admin/devices', {
    aeTitle: 'MODALITY',
    departmentId: t.departments.TB,
    permissions: ['store'],
    host: '127.0.0.1',
  });
  assert.equal(device.status, 201);
  clerk = await t.user({ memberships: [{ departmentId: t.departments.TB!, role: 'clerk' }] });
  for (const [s, patientId] of ['PID-WB-A', 'PID-WB-B'].entries()) {
    const study = newUid();
    const series = newUid();
    studies.push(
      Array.from({ length: 3 }, (_, i) =>
        makeInstance({
          patientId,
          studyInstanceUid: study,
          seriesInstanceUid: series,
          instanceNumber: i + 1,
          rows: 1536,
          columns: 1536,
          seed: 10 * s + i + 1,
          undefinedLengthSequences: false,
        }),
      ),
    );
  }
  const files = studies.flat().map((inst, i) => {
    const file = path.join(h.dir, `wb-${i}.dcm`);
    fs.writeFileSync(file, inst.file);
    return file;
  });
  await new Promise<void>((resolve, reject) =>
    execFile(
      'storescu',
      ['-aet', 'MODALITY', '-aec', 'KARTEI', '127.0.0.1', String(h.dicom!.port), ...files],
      { env: { ...process.env, TCP_NODELAY: '1' } },
      (err, stdout, stderr) => (err ? reject(new Error(stdout + stderr)) : resolve()),
    ),
  );
  base = await h.app.listen({ host: '127.0.0.1', port: 0 });
  // The same services behind HTTPS, as `kartei serve` runs with a certificate.
  const server = testCertificate('localhost');
  secureApp = await buildApp(
    { ...h.services, config: { ...h.services.config, tls: { certFile: server.certFile, keyFile: server.keyFile } } },
    { logger: false },
  );
  secureBase = (await secureApp.listen({ host: '127.0.0.1', port: 0 })).replace('127.0.0.1', 'localhost');
});
after(async () => {
  await secureApp?.close();
  await h?.close();
});

/** The study as multipart/related; `slow`: the client stops reading for a while after each ~MB. */
function retrieve(study: TestInstance[], slow: boolean, secure = false): Promise<{ type: string; raw: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = (secure ? https : http).get(
      `${secure ? secureBase : base}/dicom-web/studies/${study[0]!.studyInstanceUid}`,
      {
        ...(secure ? { ca: fs.readFileSync(testCa().certFile) } : {}),
        headers: {
          cookie: `kartei_session=${clerk.cookie}`,
          accept: 'multipart/related; type="application/dicom"; transfer-syntax=*',
        },
      },
      (res) => {
        assert.equal(res.statusCode, 200);
        const got: Buffer[] = [];
        let sinceBreak = 0;
        res.on('data', (d: Buffer) => {
          got.push(d);
          sinceBreak += d.length;
          if (slow && sinceBreak > 1_000_000) {
            sinceBreak = 0;
            res.pause();
            setTimeout(() => res.resume(), 60);
          }
        });
        res.on('end', () => resolve({ type: String(res.headers['content-type']), raw: Buffer.concat(got) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
  });
}

function assertStudy(r: { type: string; raw: Buffer }, study: TestInstance[], what: string) {
  const boundary = /boundary="?([^";]+)"?/.exec(r.type)![1]!;
  const bodies: Buffer[] = [];
  for (let at = r.raw.indexOf(`--${boundary}\r\n`); at >= 0; ) {
    const headEnd = r.raw.indexOf('\r\n\r\n', at);
    const next = r.raw.indexOf(`\r\n--${boundary}`, headEnd);
    bodies.push(r.raw.subarray(headEnd + 4, next));
    at = r.raw.indexOf(`--${boundary}\r\n`, next + 2);
  }
  assert.equal(bodies.length, study.length, `${what}: parts`);
  for (const sent of study)
    assert.ok(
      bodies.some((b) => b.subarray(b.length - sent.dataset.length).equals(sent.dataset)),
      `${what}: instance ${sent.sopInstanceUid} byte for byte`,
    );
}

test('two studies at once, one read slowly: each comes back byte for byte as stored, over HTTP and HTTPS', async () => {
  for (let round = 0; round < 4; round++) {
    const secure = round >= 2;
    const [a, b] = await Promise.all([
      retrieve(studies[0]!, round % 2 === 0, secure),
      retrieve(studies[1]!, round % 2 === 1, secure),
    ]);
    assertStudy(a, studies[0]!, `study A, round ${round}`);
    assertStudy(b, studies[1]!, `study B, round ${round}`);
  }
});
