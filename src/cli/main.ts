// The `kartei` command: serve, audit verify, doctor.
import fs from 'node:fs';
import path from 'node:path';
import { MASTER_KEY_FILE } from '../vault/keyring.ts';
import { checkStartable, ConfigError, loadConfig, type Config } from '../config/config.ts';
import { createServices, type Services } from '../services.ts';
import { buildApp } from '../http/app.ts';
import { issueSetupToken } from '../identity/setup.ts';
import { verifyAudit } from '../audit/verify.ts';
import { KeyFileError } from '../vault/key-file.ts';
import { configFindings, databaseFindings, sortFindings, type Finding } from '../ops/security-findings.ts';
import { progressBar } from './progress.ts';
import { CliError, devicesCommand } from './devices.ts';
import { startDimseListener } from '../imaging/dimse/listener.ts';
import { recoverStore } from '../imaging/store-recovery.ts';
import { TEST_PAUSE_VARIABLE } from '../imaging/instance-writer.ts';
import { lockDataDir } from '../ops/serve-lock.ts';

const CHECKPOINT_INTERVAL_MS = 60_000;

const USAGE = `usage: kartei <command>
  serve           start the server (env: KARTEI_LISTEN, KARTEI_DATA_DIR, KARTEI_KEY_DIR, KARTEI_DATABASE_URL, KARTEI_TLS_CERT/KEY)
  audit verify    recompute the audit chains and their signatures
  doctor          print the security report; exit 1 on a critical finding
  devices ...     register, list and remove DICOM devices through the running server's API
`;

export async function main(argv: string[]): Promise<number> {
  const [cmd, sub, ...rest] = argv;
  try {
    const config = loadConfig();
    if (cmd === 'serve') return await serve(config);
    if (cmd === 'audit' && sub === 'verify') return await withServices(config, auditVerify);
    if (cmd === 'doctor') return await doctor(config);
    if (cmd === 'devices') return await devicesCommand(config, sub ? [sub, ...rest] : []);
    process.stderr.write(USAGE);
    return 2;
  } catch (e) {
    if (e instanceof ConfigError || e instanceof KeyFileError || e instanceof CliError) {
      process.stderr.write(`kartei: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

async function withServices(config: Config, run: (s: Services) => Promise<number>): Promise<number> {
  const bar = progressBar('migrations');
  const s = await createServices(config, { progress: (done, total) => bar.update(done, total) });
  try {
    return await run(s);
  } finally {
    await s.close();
  }
}

async function auditVerify(s: Services): Promise<number> {
  const bar = progressBar('verifying audit events');
  const started = performance.now();
  const r = await verifyAudit(s.store, s.signer, { progress: bar.update });
  bar.done();
  const secs = (performance.now() - started) / 1000;
  if (!r.ok) {
    process.stdout.write(
      `audit chain BROKEN: tenant ${r.tenantId}, first bad sequence number ${r.seq}: ${r.problem}\n`,
    );
    return 1;
  }
  process.stdout.write(
    `audit chain OK: ${r.count} events verified in ${secs.toFixed(2)} s (${r.unsignedTail} after the last signed checkpoint)\n`,
  );
  return 0;
}

async function doctor(config: Config): Promise<number> {
  const findings = configFindings(config);
  try {
    // The doctor only looks: it creates no keys and no database.
    if (fs.existsSync(path.join(config.keyDir, MASTER_KEY_FILE)))
      findings.push(...(await withServicesFindings(config)));
    else
      findings.push({
        severity: 'info',
        code: 'not-initialised',
        title: 'Not initialised yet: no master key',
        fix: 'Start the server once (npm start); it creates the keys and the database.',
      });
  } catch (e) {
    findings.push({
      severity: 'critical',
      code: 'cannot-open',
      title: `Cannot open the installation: ${(e as Error).message}`,
      fix: 'Fix the configuration named above.',
    });
  }
  const sorted = sortFindings(findings);
  process.stdout.write(`runtime: Node.js ${process.versions.node}, OpenSSL ${process.versions.openssl}\n`);
  process.stdout.write(formatFindings(sorted));
  return sorted.some((f) => f.severity === 'critical') ? 1 : 0;
}

async function withServicesFindings(config: Config) {
  let out: Awaited<ReturnType<typeof databaseFindings>> = [];
  await withServices(config, async (s) => {
    out = await databaseFindings(s);
    return 0;
  });
  return out;
}

async function serve(config: Config): Promise<number> {
  checkStartable(config);
  fs.mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const unlock = lockDataDir(config.dataDir);
  const bar = progressBar('migrations');
  const s = await createServices(config, { progress: (done, total) => bar.update(done, total) });
  const app = await buildApp(s);
  if (process.env.NODE_ENV === 'test' && process.env[TEST_PAUSE_VARIABLE])
    app.log.warn({ variable: TEST_PAUSE_VARIABLE }, 'test hook active: stored files wait before they are indexed');
  // Before anything listens: what a crash left of a store is finished off (counts only in the log).
  const recovered = await recoverStore({ store: s.store, images: s.images, audit: s.audit, dataDir: config.dataDir });
  const { partial, orphans, kept } = recovered;
  if (kept > 0)
    app.log.error(
      { partial, orphans, kept },
      'image store: more unindexed instance files than a crash leaves; none removed (is the database older than the images?)',
    );
  else if (partial + orphans > 0)
    app.log.warn({ partial, orphans }, 'image store recovered: removed what an interrupted store left behind');
  else app.log.info('image store: nothing to recover');
  s.audit.alarm = (chain, r) =>
    app.log.fatal({ chain, seq: r.seq, problem: r.problem }, 'audit checkpoint refused: the chain does not verify');
  // Issued before anything listens: once the server answers, the token exists.
  const token = await issueSetupToken(s.store, config.dataDir);
  await app.listen({ host: config.host, port: config.port });
  const dicom = config.dicom
    ? await startDimseListener(config.dicom, {
        services: s,
        log: (e) => app.log.error({ err: e }, 'association failed'),
      })
    : undefined;
  if (config.dicom)
    app.log.info(
      { aeTitle: config.dicom.aeTitle, port: dicom!.port, tls: !!config.dicom.tls },
      'DICOM listener started',
    );
  // Each minute: the counts of aggregated attempts whose minute is over, then a checkpoint that signs them too.
  const timer = setInterval(
    () =>
      s.audit.attempts
        .flush()
        .then(() => s.audit.checkpointAll())
        .catch((e) => app.log.error({ err: e }, 'checkpoint failed')),
    CHECKPOINT_INTERVAL_MS,
  );
  const stopped = new Promise<number>((resolve) => {
    const stop = async () => {
      clearInterval(timer);
      await dicom?.close();
      await app.close();
      await s.audit.attempts.flush(true);
      await s.audit.checkpointAll();
      await s.close();
      unlock();
      resolve(0);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  // Printed once a stop request is handled: whoever reads the link may stop the server at once.
  if (token) process.stdout.write(`Setup: ${config.publicUrl}/setup#token=${token}\n`);
  return stopped;
}

function formatFindings(findings: Finding[]): string {
  if (findings.length === 0) return 'No findings.\n';
  return findings.map((f) => `[${f.severity.toUpperCase()}] ${f.title}\n    fix: ${f.fix}\n`).join('');
}
