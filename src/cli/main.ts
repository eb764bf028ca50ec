// The `kartei` command: parses the arguments and runs serve (the composition
// root, src/server.ts), audit verify, doctor or devices.
import path from 'node:path';
import { MASTER_KEY_FILE } from '../vault/keyring.ts';
import { checkStartable, ConfigError, loadConfig, type Config } from '../config/config.ts';
import type { Services } from '../services.ts';
import { verifyAudit } from '../audit/verify.ts';
import { RotationError, rotateSigningKey } from '../audit/signing-key-rotation.ts';
import { lastRestoreNote } from '../ops/backup-status.ts'; // Issue 19: backup2
import { KeyFileError } from '../vault/key-file.ts';
import { configFindings, databaseFindings, sortFindings, type Finding } from '../ops/security-findings.ts';
import { progressBar } from './progress.ts';
import { devicesCommand } from './device-commands.ts';
import { CliError, noArguments } from './cli-error.ts'; // Issue 19: s23-german-cli, s23-review
import { DatabaseNotReached } from '../db/connect.ts'; // Issue 19: s23-review
import { startServer, withServicesOnly } from '../server.ts';
import { allocatorFindings, launchPlan, launchState } from '../ops/launch.ts';
// Issue 19: keys
import { keysCommand } from './key-commands.ts';
// Issue 19: backup
import { backupCommand, restoreCommand } from './backup-commands.ts';
// Issue 19: offices
import { officesCommand } from './office-commands.ts';
// Issue 19: cli-german — what the command prints, German first (KARTEI_LANG=en: English).
import {
  cliLang,
  currentCliLang,
  findingWording,
  formatCount,
  formatMoment,
  formatSeconds,
  LangError,
  msg,
  setCliLang,
} from './messages.ts';
import { wordFinding } from '../contract/finding-texts.ts';
import { refusalText } from './refusals.ts';
import { auditProblemText } from './audit-problems.ts'; // Issue 19: s23-german-cli
import { launchText } from './launch-words.ts'; // Issue 19: s23-german-cli
import { refuseUnusableListenerFiles } from '../config/tls-start.ts'; // s24-review
import { refusal } from '../config/refusal.ts'; // Issue 19: s25-start-files
import { databaseHoldsOffices } from '../vault/master-key-lost.ts'; // s25: a lost master key on either dialect
import { withoutCredentials } from '../config/shown-address.ts'; // s25
import { keyFilePresent } from '../vault/key-file.ts'; // s25-review
import { DB_FILE } from '../ops/backup.ts'; // Issue 19: s25-start-files

export async function main(argv: string[]): Promise<number> {
  const [cmd, sub, ...rest] = argv;
  // Issue 19: cli-german — the language first: a refusal of KARTEI_LANG is said in both.
  try {
    setCliLang(cliLang());
  } catch (e) {
    if (!(e instanceof LangError)) throw e;
    process.stderr.write(`kartei: ${e.message}\n`);
    return 1;
  }
  try {
    const config = loadConfig();
    // Issue 19: s23-review — a command without options given a word anyway is refused before it runs.
    if (cmd === 'serve' || cmd === 'doctor') noArguments([sub, ...rest]);
    if (cmd === 'audit' && (sub === 'verify' || sub === 'rotate-key')) noArguments(rest);
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
    process.stderr.write(msg('usage', { offices: msg('offices.usage') }));
    return 2;
  } catch (e) {
    if (
      e instanceof ConfigError ||
      e instanceof KeyFileError ||
      e instanceof CliError ||
      e instanceof RotationError ||
      e instanceof DatabaseNotReached // Issue 19: s23-review
    ) {
      // Issue 19: cli-german — a refusal with a code in German (src/cli/refusals.ts), else its message.
      process.stderr.write(`kartei: ${refusalText(e)}\n`);
      return 1;
    }
    throw e;
  }
}

async function withServices(config: Config, run: (s: Services) => Promise<number>): Promise<number> {
  const bar = progressBar(msg('progress.migrations'));
  return withServicesOnly(config, run, (done, total) => bar.update(done, total));
}

async function auditVerify(s: Services): Promise<number> {
  const bar = progressBar(msg('progress.audit'));
  const started = performance.now();
  const r = await verifyAudit(s.store, s.signer, { progress: bar.update });
  bar.done();
  const secs = formatSeconds(performance.now() - started);
  if (!r.ok) {
    process.stdout.write(
      `${msg('audit.broken', { tenant: r.tenantId, seq: r.seq, problem: auditProblemText(r.problem) })}\n`,
    );
    return 1;
  }
  process.stdout.write(
    `${msg('audit.ok', { count: formatCount(r.count), secs, tail: formatCount(r.unsignedTail) })}\n`,
  );
  // Issue 19: backup2 — the last restore's gap: events lost with it, on the record instead of a break.
  const restored = await lastRestoreNote(s.store);
  if (restored) {
    const gap = restored.gap === undefined || restored.gap === 'none' ? msg('audit.restored.none') : restored.gap;
    const params = { at: formatMoment(restored.at), backupAt: formatMoment(restored.backupAt), gap };
    process.stdout.write(`${msg('audit.restored', params)}\n`);
  }
  return 0;
}

// Issue 19: audit — `kartei audit rotate-key`: works beside a running server, which signs with the new key from its next checkpoint.
async function auditRotateKey(s: Services): Promise<number> {
  const r = await rotateSigningKey(s.store, s.audit, s.signer);
  const words = { current: r.current, retired: r.retired, audited: formatCount(r.audited) };
  process.stdout.write(`${msg(r.resumed ? 'audit.rotated.resumed' : 'audit.rotated', words)}\n`);
  return 0;
}

/** Why the configuration does not start, in the operator's language (the finding keeps the English message for the API). */
function startableReason(config: Config): string | undefined {
  try {
    checkStartable(config);
    refuseUnusableListenerFiles(config); // s24-review: as configFindings, in the operator's language
  } catch (e) {
    if (e instanceof ConfigError) return refusalText(e);
  }
  return undefined;
}

async function doctor(config: Config): Promise<number> {
  const reason = startableReason(config);
  const findings = [
    ...configFindings(config).map((f) =>
      f.code === 'config-not-startable' && reason ? { ...f, params: { ...f.params, reason } } : f,
    ),
    ...allocatorFindingsSaid(),
  ];
  try {
    // The doctor only looks: it creates no keys and no database.
    // s25-review: a master.key that links to nothing is looked at too (createServices refuses it, naming the link).
    if (keyFilePresent(path.join(config.keyDir, MASTER_KEY_FILE)))
      findings.push(...(await withServicesFindings(config)));
    // Issue 19: s25-start-files — a database without its master key is no new installation (cannot-open).
    // s25: on PostgreSQL too (one read-only query), and only when the database holds offices.
    else if (await databaseHoldsOffices(path.join(config.dataDir, DB_FILE), config.databaseUrl)) {
      const database = config.databaseUrl ? withoutCredentials(config.databaseUrl) : path.join(config.dataDir, DB_FILE);
      throw new KeyFileError(
        `There is no master key ${path.join(config.keyDir, MASTER_KEY_FILE)}, but the database ${database} is there: its data opens only with the master key it was sealed with; put back the key directory that belongs to it (its backup: kartei backup --keys). Kartei does not start without it.`,
        refusal('master-key-lost', { file: path.join(config.keyDir, MASTER_KEY_FILE), database }),
      );
    } else
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
      params: { reason: refusalText(e as Error) },
      title: `Cannot open the installation: ${(e as Error).message}`,
      fix: 'Fix the configuration named above.',
    });
  }
  const sorted = sortFindings(findings);
  process.stdout.write(
    `${msg('doctor.runtime', { node: process.versions.node, openssl: process.versions.openssl })}\n`,
  );
  process.stdout.write(`${msg('doctor.allocator', { summary: allocatorSummary() })}\n`);
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
  const bar = progressBar(msg('progress.migrations'));
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
  process.stderr.write(`kartei: ${msg('serve.allocator', { summary: allocatorSummary() })}\n`);
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
  if (server.setupToken)
    process.stdout.write(`${msg('serve.setup', { link: `${config.publicUrl}/setup#token=${server.setupToken}` })}\n`);
  // Issue 19: instances — another instance printed the link: say where, and how to get a new one.
  const elsewhere = server.setupLinkElsewhere;
  if (elsewhere)
    process.stdout.write(
      `${msg('serve.setupElsewhere', { host: elsewhere.host, pid: elsewhere.pid, since: formatMoment(elsewhere.startedAt) })}\n`,
    );
  return stopped;
}

/**
 * Issue 19: cli-german — each finding worded from its code and params (src/contract/finding-texts.ts,
 * the web application's words) in the chosen language; its `title` and `fix` stay for the API.
 */
function formatFindings(findings: Finding[]): string {
  if (findings.length === 0) return `${msg('doctor.none')}\n`;
  const w = findingWording();
  return findings
    .map((f) => {
      const { title, fix } = wordFinding(f, w);
      // A reason the text does not name (the configuration's refusal) on a line of its own.
      const reason = typeof f.params?.reason === 'string' && !title.includes(f.params.reason) ? f.params.reason : '';
      return (
        `[${msg(`severity.${f.severity}`)}] ${title}\n` +
        (reason ? `    ${msg('doctor.reason')}: ${reason}\n` : '') +
        `    ${msg('doctor.fix')}: ${fix}\n`
      );
    })
    .join('');
}

// Issue 19: s23-german-cli — the allocator in the operator's language (src/cli/launch-words.ts); the finding keeps its English title.
function allocatorSummary(state = launchState()): string {
  return launchText(state.said, state.summary, currentCliLang());
}

function allocatorFindingsSaid(): Finding[] {
  const state = launchState();
  const plan = launchPlan();
  const reason = plan.warning ? launchText(plan.notice, plan.warning, currentCliLang()) : allocatorSummary(state);
  return allocatorFindings(state, plan).map((f) => ({ ...f, params: { ...f.params, reason } }));
}
