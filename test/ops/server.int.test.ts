// The composition root (src/server.ts) as `kartei serve` uses it: it listens
// for HTTP and DICOM where configured, holds the data directory's lock while
// it runs, and stopping it (or a failed start) closes every listener and
// gives the lock back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config/config.ts';
import { LOCK_FILE } from '../../src/ops/serve-lock.ts';
import { startServer } from '../../src/server.ts';
import { freePort, freshPostgres, PG_ADMIN } from '../helpers/harness.ts';

async function installation() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-server-'));
  const [http, dicom] = [await freePort(), await freePort()];
  const config = {
    ...loadConfig({
      KARTEI_DATA_DIR: path.join(dir, 'data'),
      KARTEI_KEY_DIR: path.join(dir, 'keys'),
      KARTEI_LOG_LEVEL: 'silent',
      KARTEI_LISTEN: `127.0.0.1:${http}`,
      KARTEI_DICOM_LISTEN: `127.0.0.1:${dicom}`,
    }),
    ...(PG_ADMIN ? await freshPostgres() : {}),
  };
  return { dir, config, http, dicom };
}

const connects = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });

test('the server listens for HTTP and DICOM, holds the lock, and its stop closes both and gives the lock back', async () => {
  const { dir, config, http, dicom } = await installation();
  try {
    const server = await startServer(config, { app: { logger: false } });
    assert.equal(server.url, `http://127.0.0.1:${http}`);
    assert.equal(server.dicom?.port, dicom);
    assert.ok(server.setupToken, 'a fresh installation gets its setup link');
    assert.deepEqual(
      { partial: server.recovered.partial, orphans: server.recovered.orphans, kept: server.recovered.kept },
      { partial: 0, orphans: 0, kept: 0 },
    );
    const health = await fetch(`${server.url}/healthz`);
    assert.equal(health.status, 200);
    assert.ok(await connects(dicom));
    assert.ok(fs.existsSync(path.join(config.dataDir, LOCK_FILE)));

    await Promise.all([server.stop(), server.stop()]);
    assert.equal(fs.existsSync(path.join(config.dataDir, LOCK_FILE)), false);
    assert.equal(await connects(http), false);
    assert.equal(await connects(dicom), false);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a start that fails (the DICOM port is taken) leaves nothing listening and no lock behind', async () => {
  const { dir, config, http, dicom } = await installation();
  const squatter = net.createServer();
  await new Promise<void>((resolve) => squatter.listen(dicom, '127.0.0.1', resolve));
  try {
    await assert.rejects(startServer(config, { app: { logger: false } }), /EADDRINUSE/);
    assert.equal(fs.existsSync(path.join(config.dataDir, LOCK_FILE)), false);
    assert.equal(await connects(http), false);
    // The same installation starts once the port is free again.
    await new Promise<void>((resolve) => squatter.close(() => resolve()));
    const server = await startServer(config, { app: { logger: false } });
    assert.equal(server.dicom?.port, dicom);
    await server.stop();
  } finally {
    squatter.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
