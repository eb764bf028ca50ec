// The `kartei` command: parses the arguments and runs serve (the composition
// root, src/server.ts), audit verify, doctor or devices.
import fs from 'node:fs';
import path from 'node:path';
import { MASTER_KEY_FILE } from '../vault/keyring.ts';
import { ConfigError, loadConfig, type Config } from '../config/config.ts';
import type { Services } from '../services.ts';
import { verifyAudit } from '../audit/verify.ts';
import { RotationError, rotateSigningKey } from '../audit/signing-key-rotation.ts';
import { lastRestoreNote } from '../ops/backup-status.ts'; // Issue 19: backup2
import { KeyFileError } from '../vault/key-file.ts';
import { configFindings, databaseFindings, sortFindings, type Finding } from '../ops/security-findings.ts';
import { progressBar } from './progress.ts';
import { CliError, devicesCommand } from './device-commands.ts';
import { startServer, withServicesOnly } from '../server.ts';
import { allocatorFindings, launchState } from '../ops/launch.ts';
// Issue 19: keys
import { keysCommand } from './key-commands.ts';
// Issue 19: backup
import { backupCommand, restoreCommand } from './backup-commands.ts';
// Issue 19: offices
import { OFFICES_USAGE, officesCommand } from './office-commands.ts';

const USAGE = `usage: kartei <command>
  serve           start the server (env: KARTEI_LISTEN, KARTEI_DATA_DIR, KARTEI_KEY_DIR, KARTEI_DATABASE_URL, KARTEI_TLS_CERT/KEY)
  audit verify    recompute the audit chains and their signatures
  audit rotate-key  replace the audit signing key (retired keys still verify); finishes an interrupted rotation
  doctor          print the security report; exit 1 on a critical finding
  devices ...     register, list and remove DICOM devices through the running server's API
  keys ...        status, rotate-master (server stopped), reload-tls (running server)
  backup DEST     back up the data (database snapshot, images, documents, audit witness) while the server runs
  backup --keys DEST  back up the key directory, into a separate place
  restore SRC     restore a data backup into an empty data directory (--check: only check it)
  restore --keys SRC  restore a keys' backup into an empty key directory
${OFFICES_USAGE}`;

export async function main(argv: string[]): Promise<number> {
  const [cmd, sub, ...rest] = argv;
  try {
    const config = loadConfig();
    if (cmd === 'serve') return await serve(config);
    if (cmd === 'audit' && sub === 'verify') return await withServices(config, auditVerify);
    // Issue 19: audit — the signing key's rotation (src/audit/signing-key-rotation.ts).
    if (cmd === 'audit' && sub === 'rotate-key') return await withServices(config, auditRotateKey);
    if (cmd === 'doctor') return await doctor(config);
    if (cmd === 'devices') return await devicesCommand(config, sub ? [sub, ...rest] : []);
    // Issue 19: keys
    if (cmd === 'keys') return await keysCommand(config, sub ? [sub, ...rest] : [], withServices);
    // Issue 19: backup
    if (cmd === 'backup') return await backupCommand(config, sub ? [sub, ...rest] : []);
    if (cmd === 'restore') return await restoreCommand(config, sub ? [sub, ...rest] : []);
    // Issue 19: offices
    if (cmd === 'offices') return await officesCommand(config, sub ? [sub, ...rest] : [], withServices);
    process.stderr.write(USAGE);
    return 2;
  } catch (e) {
    if (e instanceof ConfigError || e instanceof KeyFileError || e instanceof CliError || e instanceof RotationError) {
      process.stderr.write(`kartei: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

async function withServices(config: Config, run: (s: Services) => Promise<number>): Promise<number> {
  const bar = progressBar('migrations');
  return withServicesOnly(config, run, (done, total) => bar.update(done, total));
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
  // Issue 19: backup2 — the last restore's gap: events lost with it, on the record instead of a break.
  const restored = await lastRestoreNote(s.store);
  if (restored) process.stdout.write(`${restored}\n`);
  return 0;
}

// Issue 19: audit — `kartei audit rotate-key`: works beside a running server, which signs with the new key from its next checkpoint.
async function auditRotateKey(s: Services): Promise<number> {
  const r = await rotateSigningKey(s.store, s.audit, s.signer);
  process.stdout.write(
    `${r.resumed ? 'finished the interrupted rotation' : 'rotated'}: audit signing key ${r.current} replaces ${r.retired} (kept as a retired key for verification); ${r.audited} chain(s) recorded the rotation, every chain signed with the new key\n`,
  );
  return 0;
}

async function doctor(config: Config): Promise<number> {
  const findings = [...configFindings(config), ...allocatorFindings()];
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
  process.stdout.write(`allocator: ${launchState().summary}\n`);
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

/** Starts the server (src/server.ts) and stops it on SIGINT or SIGTERM. */
async function serve(config: Config): Promise<number> {
  const bar = progressBar('migrations');
  // A stop asked for while the server still starts (its HTTP listener may already answer) is kept
  // and carried out once the start is done, as an orderly stop; a second signal then ends it at once.
  let stop: (() => void) | undefined;
  let stopAsked = false;
  const onSignal = () => {
    if (stop) stop();
    else stopAsked = true;
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  // Issue 18: runtime — which allocator the production start applied (src/ops/launch.ts); on stderr,
  // like the progress bar: stdout carries only the setup link. Written once the signals are handled:
  // whoever waits for this line may stop the server at once.
  process.stderr.write(`kartei: allocator: ${launchState().summary}\n`);
  const server = await startServer(config, { progress: (done, total) => bar.update(done, total) }).catch((e) => {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    throw e;
  });
  // Issue 19: keys — SIGHUP (`kartei keys reload-tls`): the TLS certificates read again; the outcome is in the log.
  const reload = () => void server.reloadTls().catch(() => undefined);
  process.on('SIGHUP', reload);
  const stopped = new Promise<number>((resolve) => {
    stop = () => void server.stop().then(() => resolve(0));
    if (stopAsked) stop();
  });
  // Printed once a stop request is handled: whoever reads the link may stop the server at once.
  if (server.setupToken) process.stdout.write(`Setup: ${config.publicUrl}/setup#token=${server.setupToken}\n`);
  // Issue 19: instances — another instance printed the link: say where, and how to get a new one.
  const elsewhere = server.setupLinkElsewhere;
  if (elsewhere)
    process.stdout.write(
      `Setup: the setup link was printed by the Kartei instance on ${elsewhere.host} (pid ${elsewhere.pid}, running since ${elsewhere.startedAt}); see its output or its data directory's setup-token file. For a new link, restart that instance (the old link stops working).\n`,
    );
  return stopped;
}

function formatFindings(findings: Finding[]): string {
  if (findings.length === 0) return 'No findings.\n';
  return findings.map((f) => `[${f.severity.toUpperCase()}] ${f.title}\n    fix: ${f.fix}\n`).join('');
}
