// The security report: every weakness of this installation that Kartei can
// see, most severe first, each with its fix. Grows with every feature.
// `kartei doctor` prints it (worded like the web's, German first); administrators and the DPO see their office's
// part in the web application (`GET /api/security-report`), worded in their language
// from each finding's stable `code` and `params`.
import fs from 'node:fs';
import { isIP } from 'node:net';
import { X509Certificate } from 'node:crypto';
import path from 'node:path';
import { sql } from 'kysely';
import { checkStartable, ConfigError, isLoopback, isLoopbackUrl, storageKind, type Config } from '../config/config.ts';
import { readTlsFile } from '../config/tls-reload.ts';
import type { Services } from '../services.ts';
import { inTenantTransaction } from '../db/connect.ts';
import { DEPLOYMENT_CHAIN } from '../db/schema.ts';
import { refuseUnusableListenerFiles } from '../config/tls-start.ts'; // s24-review
import { keyDirectoryOddities, keyFileProblems } from '../vault/key-file.ts';
import { verifyAudit } from '../audit/verify.ts';
import { sharedVerify } from '../audit/verify-shared.ts';
import { unfinishedRotation } from '../audit/signing-key-rotation.ts';
import { SETUP_TOKEN_FILE, isSetUp } from '../identity/setup.ts';
import { readRecoveryReport } from '../imaging/store-recovery.ts';
import { TEST_PAUSE_VARIABLE } from '../imaging/instance-writer.ts';
import { runtimeSupport } from './runtime-support.ts';
import { loadConnection } from '../demis/connection/connection-settings.ts';
// Issue 19: ops
import { storageFindings } from './storage-space.ts';
// Issue 19: keys
import { masterRotationState } from '../vault/master-rotation.ts';
import { MASTER_KEY_BYTES, MASTER_KEY_FILE } from '../vault/master-keys.ts'; // s24
// Issue 19: backup
import { backupFindings } from './backup-status.ts';
// Issue 19: ops2
import { metricsTokenFileProblem } from './metrics-listener.ts';
// Issue 19: keys-online
import { keyVersionFindings } from './key-version-findings.ts';
// Issue 19: instances
import { instanceFindings, witnessFindings } from './instances.ts';
import { clockFindings } from './instances.ts'; // Issue 19: clock-pg

export const SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'] as const;
type Severity = (typeof SEVERITIES)[number];

/**
 * One finding: `code` and `params` are stable, and the web application words them in the
 * user's language (and `kartei doctor` in the operator's); `title` and `fix` are English, for API clients.
 */
export interface Finding {
  severity: Severity;
  code: FindingCode;
  params?: Record<string, string | number>;
  title: string;
  fix: string;
}

/** Every finding the report can hold; the web application has a title and a remedy for each. */
export const FINDING_CODES = [
  'certificate-unreadable',
  'certificate-expired',
  'certificate-expires-soon',
  'certificate-expires',
  'certificate-rsa-weak',
  'certificate-rsa-short',
  'certificate-curve-weak',
  'config-not-startable',
  'key-files-exposed',
  'data-dir-exposed',
  'dicom-loopback-plain',
  'http-loopback-plain',
  'public-url-ip',
  'setup-pending',
  'setup-not-started',
  'setup-token-left',
  'accounts-without-mfa',
  'audit-chain-broken',
  'audit-unsigned-tail',
  'audit-checkpoint-refused',
  'postgres-schema-owner',
  'postgres-no-tls',
  'admins-are-members',
  'admin-chosen-passwords',
  'no-dpo',
  'reviews-waiting',
  'legacy-tokens',
  'devices-by-host',
  'device-certificate-expired',
  'device-certificate-expires',
  'store-recovered',
  'store-orphans-kept',
  'test-hook-set',
  'not-initialised',
  'cannot-open',
  'runtime-end-of-life',
  'runtime-not-lts',
  'demis-certificate-expired',
  'demis-certificate-expires',
  'demis-failing',
  'demis-credentials-unreadable',
  // Issue 17: walk — the documents' upload limit
  'attachment-limit-high',
  // Issue 18: runtime — the production start's allocator (src/ops/launch.ts, `kartei doctor` only)
  'allocator-not-applied',
  // Issue 19: ops — the data and key directories' free space (src/ops/storage-space.ts)
  'storage-full',
  'storage-low',
  // Issue 19: keys — the master key's age and an interrupted rotation (the key directory, `kartei keys`)
  'master-key-old',
  'master-rotation-interrupted',
  // Issue 19: backup — the last backups' age, a backup running, the last restore and its gap (src/ops/backup-status.ts)
  'backup-none',
  'backup-old',
  'backup-age',
  'keys-backup-none',
  'keys-backup-stale', // Issue 19: backup2
  'backup-running',
  'restored-from-backup',
  // Issue 19: audit — an interrupted rotation of the audit signing key
  'audit-key-rotation-unfinished',
  // Issue 19: keys2 — links and files Kartei does not write in the key directory
  'key-file-link',
  'key-dir-unknown-file',
  // Issue 19: ops2 — the metrics listener's token file readable by group or others (the listener refuses it)
  'metrics-token-readable',
  // Issue 19: storage-db — images and documents as files on one machine although the database is shared
  'storage-files-on-postgres',
  // Issue 19: keys-online — department key versions: a rotation stopped half-way, earlier versions kept
  'department-key-rotation-pending',
  // s24: a master key shorter than the 32 random bytes Kartei makes (a passphrase mounted as master.key)
  'master-key-short',
  'department-key-versions-kept',
  // Issue 19: s3 — the S3 store's credentials file readable by group or others (the store refuses it at start)
  's3-credentials-readable',
  // Issue 19: instances — the instance set on one database (src/ops/instances.ts) and this key directory's witness
  'instances-versions-differ',
  'instances-keys-differ',
  'instances-files-storage',
  'instance-crashed',
  'witness-behind',
  // Issue 19: clock-pg — this host's clock far off the database's (src/ops/instances.ts)
  'instance-clock-skew',
] as const;
type FindingCode = (typeof FINDING_CODES)[number];

/** Issue 17: walk — the largest upload limit for documents that is no finding: 1 GB. */
const ATTACHMENT_LIMIT_SAFE = 1024 * 1024 * 1024;

/** Which certificate a finding is about: `cert` in its params. */
type CertKind = 'https' | 'dicom' | 'dicom-ca';
const CERT_NAMES: Record<CertKind, string> = {
  https: 'HTTPS server certificate',
  dicom: 'DICOM server certificate',
  'dicom-ca': 'DICOM device CA certificate',
};

/** Checks that need no database: configuration and files (certificates judged at `now`). */
export function configFindings(config: Config, now = Date.now(), nodeVersion = process.versions.node): Finding[] {
  const out: Finding[] = [...runtimeFindings(nodeVersion, now), ...certificateFindings(config, now)];
  try {
    checkStartable(config);
    // s24-review: and the listeners' files as serve checks them (a key of another pair, a token missing).
    refuseUnusableListenerFiles(config);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    out.push({
      severity: 'critical',
      code: 'config-not-startable',
      params: { reason: e.message }, // Issue 19: cli-german — `kartei doctor` names it beside the worded title
      title: e.message,
      fix: 'Listen on 127.0.0.1 or configure TLS; keep the key directory outside the data directory.',
    });
  }
  for (const p of keyFileProblems(config.keyDir)) {
    out.push({
      severity: 'critical',
      code: 'key-files-exposed',
      params: { path: p, keyDir: config.keyDir },
      title: `Key material readable by others: ${p}`,
      fix: `chmod 700 ${config.keyDir} && chmod 600 ${config.keyDir}/*`,
    });
  }
  // s24: master.key may be a link (a container's secret): one shorter than the 32 random bytes Kartei makes
  // is likely a passphrase, and every key of the installation derives from it.
  const master = path.join(config.keyDir, MASTER_KEY_FILE);
  const masterBytes = fs.existsSync(master) ? fs.statSync(master).size : MASTER_KEY_BYTES;
  if (masterBytes < MASTER_KEY_BYTES)
    out.push({
      severity: 'critical',
      code: 'master-key-short',
      params: { path: master, bytes: masterBytes },
      title: `The master key ${master} is ${masterBytes} bytes, fewer than the 32 random bytes Kartei makes`,
      fix: 'Stop the server, run `kartei keys rotate-master` (it makes 32 random bytes; a master.key mounted as a container secret: put the new file there), start the server again and back up the key directory; keep no passphrase as master.key.',
    });
  // Issue 19: keys2 — a link where Kartei writes a key itself is refused at start (planted); a file
  // Kartei does not write is worth a look.
  const odd = keyDirectoryOddities(config.keyDir);
  for (const p of odd.links)
    out.push({
      severity: 'critical',
      code: 'key-file-link',
      params: { path: p },
      title: `A key file Kartei writes itself is a symbolic link: ${p}`,
      fix: `Remove the link ${p} (Kartei never writes it as a link) and find out who placed it.`,
    });
  for (const p of odd.unknown)
    out.push({
      severity: 'medium',
      code: 'key-dir-unknown-file',
      params: { path: p },
      title: `A file Kartei does not write is in the key directory: ${p}`,
      fix: `Check where ${p} comes from; move it out of the key directory.`,
    });
  if (fs.existsSync(config.dataDir) && fs.statSync(config.dataDir).mode & 0o077) {
    out.push({
      severity: 'high',
      code: 'data-dir-exposed',
      params: { dataDir: config.dataDir },
      title: `Data directory ${config.dataDir} is accessible by other users`,
      fix: `chmod 700 ${config.dataDir}`,
    });
  }
  // Issue 19: keys
  out.push(...masterKeyFindings(config, now));
  if (process.env[TEST_PAUSE_VARIABLE]) {
    out.push({
      severity: 'high',
      code: 'test-hook-set',
      params: { variable: TEST_PAUSE_VARIABLE },
      title: `The test-only variable ${TEST_PAUSE_VARIABLE} is set`,
      fix: `Remove ${TEST_PAUSE_VARIABLE} from the server's environment; it is for tests and slows every stored image (honoured only with NODE_ENV=test).`,
    });
  }
  if (config.dicom && !config.dicom.tls) {
    out.push({
      severity: 'info',
      code: 'dicom-loopback-plain',
      params: { host: config.dicom.host, port: config.dicom.port },
      title: `DICOM listener on loopback (${config.dicom.host}:${config.dicom.port}) without TLS`,
      fix: 'Only devices on this host can reach it. For modalities on the network set KARTEI_DICOM_TLS_CERT, _KEY and _CA (client certificates required).',
    });
  }
  const publicHost = hostOf(config.publicUrl);
  if (publicHost !== null && isIP(publicHost.replace(/^\[|\]$/g, ''))) {
    // WebAuthn's relying party is a host name: under an IP address no passkey can be added or used.
    out.push({
      severity: isLoopback(config.host) ? 'low' : 'medium',
      code: 'public-url-ip',
      params: { publicUrl: config.publicUrl },
      title: `KARTEI_PUBLIC_URL names an IP address (${config.publicUrl}): passkeys cannot work`,
      fix: 'Set KARTEI_PUBLIC_URL to the address users open, with a host name (e.g. https://kartei.gesundheitsamt.example, or http://localhost:8080 on this machine).',
    });
  }
  // Issue 17: walk — a document or scan is sealed as it streams in, but a limit this high lets one upload
  // fill the data directory's disk (and the preview's memory); 0 or more than 2000 MB does not start at all.
  if (config.attachmentMaxBytes > ATTACHMENT_LIMIT_SAFE) {
    const mb = Math.round(config.attachmentMaxBytes / (1024 * 1024));
    out.push({
      severity: 'critical',
      code: 'attachment-limit-high',
      params: { mb },
      title: `KARTEI_ATTACHMENT_MAX_MB is ${mb}: one upload may be larger than 1 GB`,
      fix: 'Set KARTEI_ATTACHMENT_MAX_MB to what scans and attachments need (the default 50, at most 1024) and restart.',
    });
  }
  // Issue 19: ops — a full file system refuses writes and audited reads; a low one warns before.
  out.push(...storageFindings(config));
  // Issue 19: storage-db — with files, a second instance on the same PostgreSQL would not find the images.
  if (config.databaseUrl && storageKind(config) === 'files')
    out.push({
      severity: 'medium',
      code: 'storage-files-on-postgres',
      title:
        "Images and documents are files on this machine's disk (KARTEI_STORAGE=files) while the database is PostgreSQL",
      fix: 'Only an instance with this data directory can serve them; another instance on the same database would miss them. Run one instance only, or keep them in the database (KARTEI_STORAGE=database) or in S3 for a new installation.',
    });
  // Issue 19: ops2 — a token every local account may read lets each of them scrape; the listener refuses to start.
  // Issue 19: s25-start-files — and so does serve (tls-start.ts): critical, as config-not-startable beside it.
  const tokenFile = config.metrics?.tokenFile;
  if (tokenFile && fs.existsSync(tokenFile) && metricsTokenFileProblem(tokenFile)) {
    const mode = (fs.statSync(tokenFile).mode & 0o777).toString(8);
    out.push({
      severity: 'critical',
      code: 'metrics-token-readable',
      params: { path: tokenFile, mode },
      title: `The metrics token file ${tokenFile} is readable by others (mode ${mode}): Kartei does not start with it`,
      fix: 'Run chmod 600 on the token file (owned by the user Kartei runs as) and restart.',
    });
  }
  // Issue 19: s3 — credentials every local account may read let each of them remove or replace the
  // sealed images and documents (not read them: they stay sealed); the store refuses them at start.
  const s3Credentials = config.s3?.credentialsFile;
  if (s3Credentials && fs.existsSync(s3Credentials) && fs.statSync(s3Credentials).mode & 0o077) {
    const mode = (fs.statSync(s3Credentials).mode & 0o777).toString(8);
    out.push({
      severity: 'high',
      code: 's3-credentials-readable',
      params: { path: s3Credentials, mode },
      title: `The S3 credentials file ${s3Credentials} is readable by others (mode ${mode}): Kartei does not start with it`,
      fix: 'Run chmod 600 on the credentials file (owned by the user Kartei runs as) and restart.',
    });
  }
  if (isLoopback(config.host) && !config.tls) {
    out.push({
      severity: 'info',
      code: 'http-loopback-plain',
      title: 'Listening on loopback without TLS',
      fix: 'Fine behind a TLS-terminating proxy on this host; set KARTEI_TLS_CERT/KEY to serve TLS directly.',
    });
  }
  return out;
}

/** The Node.js running Kartei: past its end of life, or never a long-term-support line, it gets no security fixes. */
function runtimeFindings(version: string, now = Date.now()): Finding[] {
  const support = runtimeSupport(version, now);
  const fix =
    'Run Kartei on the Node.js LTS it brings: `npm ci`, then `npm start` (or node_modules/.bin/node bin/kartei.js serve).';
  if (support.status === 'end-of-life') {
    return [
      {
        severity: 'critical',
        code: 'runtime-end-of-life',
        params: { version, date: support.endOfLife },
        title: `Node.js ${version} has had no security fixes since ${support.endOfLife} (end of life)`,
        fix,
      },
    ];
  }
  if (support.status === 'not-lts') {
    return [
      {
        severity: 'critical',
        code: 'runtime-not-lts',
        params: { version },
        title: `Node.js ${version} is not a long-term-support release; its support ends six months after release`,
        fix,
      },
    ];
  }
  return [];
}

/**
 * Findings from the database. `tenantId` limits them to one office (the web
 * application's security report): its roles, devices, accounts and audit chain;
 * without it (`kartei doctor`) they cover the whole installation.
 */
export async function databaseFindings(s: Services, tenantId?: string): Promise<Finding[]> {
  const out: Finding[] = [];
  const db = s.store.db;
  if (!(await isSetUp(s.store))) {
    // A link this data directory's server printed, or (issue 19: instances) one any instance printed that is still valid.
    const issued = await db
      .selectFrom('setup_token')
      .select(['expires_at', 'used_at'])
      .where('id', '=', 1)
      .executeTakeFirst();
    const pending =
      fs.existsSync(path.join(s.config.dataDir, SETUP_TOKEN_FILE)) ||
      (!!issued && !issued.used_at && Date.parse(issued.expires_at) > Date.now());
    out.push({
      severity: 'medium',
      code: pending ? 'setup-pending' : 'setup-not-started',
      title: 'First-run setup has not been completed',
      fix: pending
        ? 'Open the setup link the server printed, or restart the server for a new one.'
        : 'Start the server to get a setup link.',
    });
  }
  if ((await isSetUp(s.store)) && fs.existsSync(path.join(s.config.dataDir, SETUP_TOKEN_FILE))) {
    out.push({
      severity: 'high',
      code: 'setup-token-left',
      params: { file: path.join(s.config.dataDir, SETUP_TOKEN_FILE) },
      title: 'A setup token file remains in the data directory after setup',
      fix: `Delete ${path.join(s.config.dataDir, SETUP_TOKEN_FILE)}.`,
    });
  }
  out.push(...recoveryFindings(s.config.dataDir, tenantId));
  // Issue 19: backup
  out.push(
    ...(await backupFindings(s.store, s.config.dataDir, {
      tenantId,
      maxAgeHours: s.config.backupMaxAgeHours,
      setUp: await isSetUp(s.store),
    })),
  );
  out.push(...(await separationFindings(s, tenantId)));
  out.push(...(await deviceFindings(s, tenantId)));
  out.push(...(await demisFindings(s, tenantId)));
  out.push(...(await tokenFindings(s, tenantId)));
  out.push(...(await keyVersionFindings(s.store, tenantId))); // Issue 19: keys-online
  let users = db
    .selectFrom('users')
    .select(sql<number>`count(*)`.as('n'))
    .where('active', '=', 1)
    .where('totp_secret_enc', 'is', null);
  if (tenantId) users = users.where('tenant_id', '=', tenantId);
  const noMfa = await users.executeTakeFirst();
  if (Number(noMfa?.n ?? 0) > 0) {
    out.push({
      severity: 'high',
      code: 'accounts-without-mfa',
      params: { n: Number(noMfa!.n) },
      title: `${noMfa!.n} active account(s) without a second factor`,
      fix: 'Each such user enrols TOTP at the next login; deactivate accounts that are not used.',
    });
  }
  // s25: a request's verification waits its turn and shares one with requests for the same office (verify-shared.ts).
  const audit = tenantId ? await sharedVerify(s.store, s.signer, [tenantId]) : await verifyAudit(s.store, s.signer);
  if (!audit.ok) {
    out.push({
      severity: 'critical',
      code: 'audit-chain-broken',
      params: { seq: audit.seq, problem: audit.problem },
      title: `Audit chain broken at sequence ${audit.seq} (${audit.problem})`,
      fix: 'Treat as a security incident: preserve a copy of the database and inform the DPO; run `kartei audit verify` for details.',
    });
  } else if (audit.unsignedTail > 0) {
    out.push({
      severity: 'info',
      code: 'audit-unsigned-tail',
      params: { n: audit.unsignedTail },
      title: `${audit.unsignedTail} audit event(s) after the last signed checkpoint`,
      fix: 'The running server signs a checkpoint every minute.',
    });
  }
  // Recorded in the key directory by the server when the events since the last checkpoint did not verify.
  for (const [chain, r] of Object.entries(s.signer.witness?.refusals() ?? {})) {
    if (tenantId && chain !== tenantId) continue;
    out.push({
      severity: 'critical',
      code: 'audit-checkpoint-refused',
      params: { at: r.at, chain: chain === DEPLOYMENT_CHAIN ? 'installation' : chain, seq: r.seq, problem: r.problem },
      title: `Audit checkpoint refused at ${r.at}: ${chain === DEPLOYMENT_CHAIN ? "the installation's chain" : `the chain of office ${chain}`} does not verify from sequence ${r.seq} (${r.problem})`,
      fix: 'Someone wrote to the audit log outside Kartei. Treat as a security incident: preserve a copy of the database and the key directory, inform the DPO, run `kartei audit verify`. The server signs no checkpoint of this chain until it verifies again.',
    });
  }
  // Issue 19: audit — a rotation of the signing key that stopped half-way (the chain verifies meanwhile).
  const rotation = tenantId ? undefined : unfinishedRotation(s.config.keyDir);
  if (rotation)
    out.push({
      severity: 'medium',
      code: 'audit-key-rotation-unfinished',
      params: { state: rotation },
      title: `The rotation of the audit signing key is unfinished: ${rotation}`,
      fix: 'Run `kartei audit rotate-key` again: it finishes this rotation (it does not start another).',
    });
  // Issue 19: instances — the servers on this database, and whether this key directory's witness keeps up.
  if (!tenantId) out.push(...(await instanceFindings(s.store)), ...(await witnessFindings(s)));
  // Issue 19: clock-pg — this host's clock against the database's, by which the instances are judged.
  if (!tenantId) out.push(...(await clockFindings(s.store)));
  if (s.store.dialect === 'postgres') {
    const url = new URL(s.config.databaseUrl!);
    const admin = new URL(s.config.databaseAdminUrl!);
    if (url.username === admin.username) {
      out.push({
        severity: 'critical',
        code: 'postgres-schema-owner',
        title: 'The application connects to PostgreSQL as the schema owner',
        fix: 'Set KARTEI_DATABASE_URL to a role without DDL rights and KARTEI_DATABASE_ADMIN_URL to the owner (see README).',
      });
    }
    if (
      !['require', 'verify-ca', 'verify-full'].includes(url.searchParams.get('sslmode') ?? '') &&
      !isLoopbackUrl(url)
    ) {
      out.push({
        severity: 'critical',
        code: 'postgres-no-tls',
        params: { host: url.hostname },
        title: `PostgreSQL at ${url.hostname} is reached without TLS`,
        fix: 'Add sslmode=verify-full to KARTEI_DATABASE_URL.',
      });
    }
  }
  return out;
}

/** What the last start's recovery of the image store found (store-recovery.ts), for one office or all. */
export function recoveryFindings(dataDir: string, tenantId?: string): Finding[] {
  const report = readRecoveryReport(dataDir);
  if (!report) return [];
  const counts = tenantId ? report.offices[tenantId] : report;
  if (!counts) return [];
  const out: Finding[] = [];
  if (counts.kept > 0) {
    out.push({
      severity: 'critical',
      code: 'store-orphans-kept',
      params: { at: report.at, n: counts.kept },
      title: `At the start on ${report.at}, ${counts.kept} image file(s) had no entry in the database and were kept: more than a crash leaves`,
      fix: 'The database may be older than the image directory (a restored backup?). Do not delete anything: restore the matching database, or ask support; the server removes none of these files while there are this many.',
    });
  }
  if (counts.partial + counts.orphans > 0) {
    out.push({
      severity: 'low',
      code: 'store-recovered',
      params: { at: report.at, partial: counts.partial, orphans: counts.orphans },
      title: `At the start on ${report.at}, an interrupted store was cleaned up: ${counts.partial} unfinished file(s) and ${counts.orphans} file(s) without an index entry removed`,
      fix: 'Nothing to do: these images were never confirmed to their senders, who send them again. If it happens often, find out why the server stops (crashes, kills, power).',
    });
  }
  return out;
}

/** Who holds which tenant role: separation of duties and the DPO's review work. */
async function separationFindings(s: Services, tenantId?: string): Promise<Finding[]> {
  const out: Finding[] = [];
  const db = s.store.db;
  let roleQuery = db
    .selectFrom('tenant_roles')
    .innerJoin('users', 'users.id', 'tenant_roles.user_id')
    .select(['tenant_roles.user_id', 'tenant_roles.role', 'tenant_roles.tenant_id'])
    .where('users.active', '=', 1);
  if (tenantId) roleQuery = roleQuery.where('tenant_roles.tenant_id', '=', tenantId);
  const roles = await roleQuery.execute();
  const members = new Set((await db.selectFrom('memberships').select('user_id').execute()).map((m) => m.user_id));
  const mixed = roles.filter((r) => r.role === 'admin' && members.has(r.user_id)).length;
  if (mixed > 0) {
    out.push({
      severity: 'medium',
      code: 'admins-are-members',
      params: { n: mixed },
      title: `${mixed} administrator account(s) are also department members`,
      fix: 'Give administration and casework to separate accounts, so an administrator reads no files.',
    });
  }
  // Passwords an administrator chose (accounts from before enrolment links): someone besides the person knows them.
  let adminKnown = db
    .selectFrom('users')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('active', '=', 1)
    .where('password_origin', '=', 'admin');
  if (tenantId) adminKnown = adminKnown.where('tenant_id', '=', tenantId);
  const known = Number((await adminKnown.executeTakeFirst())?.n ?? 0);
  if (known > 0) {
    out.push({
      severity: 'critical',
      code: 'admin-chosen-passwords',
      params: { n: known },
      title: `${known} active account(s) still hold a password an administrator chose`,
      fix: 'For each, ask for a reset link (Benutzer → Zugang neu einrichten), have it approved by a second person, and hand it over: the person then chooses their own password and second factor. The users list marks these accounts.',
    });
  }
  const tenants = tenantId ? [{ id: tenantId }] : await db.selectFrom('tenants').select('id').execute();
  for (const t of tenants) {
    if (!roles.some((r) => r.tenant_id === t.id && r.role === 'dpo')) {
      out.push({
        severity: 'medium',
        code: 'no-dpo',
        title: 'No data-protection officer account',
        fix: "Create a user with the tenant role dpo: emergency accesses wait for review, and citizens' access reports need someone to answer them.",
      });
    }
  }
  const stale = await Promise.all(
    tenants.map((t) =>
      // Break-glass grants and emergency searches alike wait for a decision.
      inTenantTransaction(s.store, t.id, async (tx) => {
        const before = new Date(Date.now() - 7 * 86_400_000).toISOString();
        const count = async (table: 'break_glass' | 'emergency_searches') =>
          Number(
            (
              await tx
                .selectFrom(table)
                .select(sql<number>`count(*)`.as('n'))
                .where('decision', 'is', null)
                .where('created_at', '<', before)
                .executeTakeFirst()
            )?.n ?? 0,
          );
        return { n: (await count('break_glass')) + (await count('emergency_searches')) };
      }),
    ),
  );
  const waiting = stale.reduce((n, r) => n + Number(r?.n ?? 0), 0);
  if (waiting > 0) {
    out.push({
      severity: 'medium',
      code: 'reviews-waiting',
      params: { n: waiting, days: 7 },
      title: `${waiting} emergency access(es) unreviewed for more than 7 days`,
      fix: 'The DPO or the department head reviews them under Reviews (GET /api/reviews).',
    });
  }
  return out;
}

/** Registered DICOM devices: how they prove themselves, and certificates about to lapse. */
/** Live API tokens from before scopes (migration 015): they were narrowed to DICOMweb and should be replaced. */
async function tokenFindings(s: Services, tenantId?: string): Promise<Finding[]> {
  let query = s.store.db
    .selectFrom('api_tokens')
    .select(sql<number>`count(*)`.as('n'))
    .where('legacy', '=', 1)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', new Date().toISOString());
  if (tenantId) query = query.where('tenant_id', '=', tenantId);
  const n = Number((await query.executeTakeFirst())?.n ?? 0);
  if (n === 0) return [];
  return [
    {
      severity: 'medium',
      code: 'legacy-tokens',
      params: { n },
      title: `${n} API token(s) from before token scopes may now only use DICOMweb (dicomweb:read, dicomweb:store)`,
      fix: 'Their owners create tokens with the scopes their scripts need (Mein Konto → API-Tokens; the CLI needs admin) and revoke the old ones.',
    },
  ];
}

async function deviceFindings(s: Services, tenantId?: string): Promise<Finding[]> {
  const out: Finding[] = [];
  let query = s.store.db.selectFrom('devices').select(['ae_title', 'cert_fingerprint', 'cert_expires_at']);
  if (tenantId) query = query.where('tenant_id', '=', tenantId);
  const devices = await query.execute();
  const byHost = devices.filter((d) => !d.cert_fingerprint).map((d) => d.ae_title);
  if (byHost.length > 0) {
    out.push({
      severity: 'low',
      code: 'devices-by-host',
      params: { n: byHost.length, aeTitles: byHost.join(', ') },
      title: `${byHost.length} DICOM device(s) recognised by loopback host only: ${byHost.join(', ')}`,
      fix: 'Fine for programs on this host; register devices on the network with their client certificate.',
    });
  }
  const now = Date.now();
  for (const d of devices.filter((x) => x.cert_expires_at)) {
    const left = Date.parse(d.cert_expires_at!) - now;
    if (left <= 0)
      out.push({
        severity: 'high',
        code: 'device-certificate-expired',
        params: { aeTitle: d.ae_title },
        title: `The certificate of DICOM device ${d.ae_title} has expired`,
        fix: 'Register the device again with its renewed certificate (kartei devices remove / add).',
      });
    else if (left < 30 * 86_400_000)
      out.push({
        severity: 'medium',
        code: 'device-certificate-expires',
        params: { aeTitle: d.ae_title, days: 30 },
        title: `The certificate of DICOM device ${d.ae_title} expires within 30 days`,
        fix: 'Renew it on the device and register the new certificate.',
      });
  }
  return out;
}

const DAY_MS = 86_400_000;

/** Polls of DEMIS failed in a row before the report names it. */
const DEMIS_FAILING_AFTER = 3;

/**
 * Each office's DEMIS connection: its certificate's expiry (critical once expired, medium within
 * 60 days: a new one takes weeks at the Bundesdruckerei), a fetching that keeps failing, and
 * whether its sealed credentials still open with this key directory.
 */
async function demisFindings(s: Services, tenantId?: string): Promise<Finding[]> {
  const out: Finding[] = [];
  let query = s.store.db.selectFrom('demis_connections').select(['tenant_id', 'cert_not_after', 'failures', 'enabled']);
  if (tenantId) query = query.where('tenant_id', '=', tenantId);
  const now = Date.now();
  for (const c of await query.execute()) {
    const left = Date.parse(c.cert_not_after) - now;
    if (left <= 0)
      out.push({
        severity: 'critical',
        code: 'demis-certificate-expired',
        params: { notAfter: c.cert_not_after },
        title: `The office's DEMIS certificate expired on ${c.cert_not_after}: no notifications can be fetched`,
        fix: 'Request a new certificate in the CSM portal and store it with its key under Administration → DEMIS (PUT /api/admin/demis).',
      });
    else if (left < 60 * DAY_MS)
      out.push({
        severity: 'medium',
        code: 'demis-certificate-expires',
        params: { notAfter: c.cert_not_after, days: Math.ceil(left / DAY_MS) },
        title: `The office's DEMIS certificate expires in ${Math.ceil(left / DAY_MS)} days (${c.cert_not_after})`,
        fix: 'Request a new certificate in the CSM portal in time and store it under Administration → DEMIS.',
      });
    if (c.enabled === 1 && c.failures >= DEMIS_FAILING_AFTER)
      out.push({
        severity: 'high',
        code: 'demis-failing',
        params: { failures: c.failures },
        title: `Fetching from DEMIS has failed ${c.failures} times in a row`,
        fix: 'See the last error under Administration → DEMIS (GET /api/admin/demis): check the certificate, client secret and addresses.',
      });
    try {
      await loadConnection(s.store, s.keyring, c.tenant_id);
    } catch {
      out.push({
        severity: 'high',
        code: 'demis-credentials-unreadable',
        title: 'The sealed DEMIS credentials cannot be opened with this key directory',
        fix: 'Check that the key directory belongs to this database; otherwise store the DEMIS connection again.',
      });
    }
  }
  return out;
}

// Issue 19: keys
/**
 * The master key in the key directory: older than `KARTEI_KEY_MAX_AGE_DAYS` (its file's time,
 * which a rotation renews), or a rotation that stopped half-way. Reads only; no key is created.
 */
function masterKeyFindings(config: Config, now: number): Finding[] {
  if (!fs.existsSync(path.join(config.keyDir, 'master.key'))) return [];
  let st: ReturnType<typeof masterRotationState>;
  try {
    st = masterRotationState(config.keyDir);
  } catch {
    return []; // unreadable or exposed key files are their own finding (key-files-exposed)
  }
  const out: Finding[] = [];
  if (st.state !== 'none')
    out.push({
      severity: 'high',
      code: 'master-rotation-interrupted',
      params: { state: st.state },
      title: `A master key rotation was interrupted (${st.state}); every key still opens`,
      fix: 'Stop the server and run `kartei keys rotate-master`: it completes the rotation. Then back up the key directory.',
    });
  const days = Math.floor((now - st.since.getTime()) / 86_400_000);
  if (days > config.keyMaxAgeDays)
    out.push({
      severity: 'medium',
      code: 'master-key-old',
      params: { days, maxDays: config.keyMaxAgeDays, keyId: st.current },
      title: `The master key ${st.current} is ${days} days old (older than ${config.keyMaxAgeDays})`,
      fix: 'Stop the server, run `kartei keys rotate-master`, start it again and back up the key directory (or set KARTEI_KEY_MAX_AGE_DAYS).',
    });
  return out;
}

/**
 * The certificates our listeners present, and the CA that signs device certificates:
 * expiry (critical when expired or within 14 days, medium within 30) and key size after
 * BSI TR-02102-2 (RSA: at least 3000 bits, under 2048 critical; elliptic curves: at least 250 bits).
 */
function certificateFindings(config: Config, now = Date.now()): Finding[] {
  const files: [CertKind, string][] = [];
  if (config.tls) files.push(['https', config.tls.certFile]);
  if (config.dicom?.tls) files.push(['dicom', config.dicom.tls.certFile], ['dicom-ca', config.dicom.tls.caFile]);
  const out: Finding[] = [];
  for (const [kind, file] of files) {
    const what = CERT_NAMES[kind];
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(readTlsFile(file));
    } catch {
      out.push({
        severity: 'critical',
        code: 'certificate-unreadable',
        params: { cert: kind, file },
        title: `The ${what} (${file}) cannot be read as a PEM certificate`,
        fix: 'Point the setting at the PEM file of the certificate; the server will not start without it.',
      });
      continue;
    }
    out.push(...judgeCertificate(kind, cert, now));
  }
  return out;
}

/** How near a certificate's end is told, and how severely: the nearest window first. */
const EXPIRY_WINDOWS = [
  { days: 14, severity: 'critical', code: 'certificate-expires-soon' },
  { days: 30, severity: 'medium', code: 'certificate-expires' },
] as const;

/** One certificate's expiry and key size. */
export function judgeCertificate(kind: CertKind, cert: X509Certificate, now = Date.now()): Finding[] {
  const out: Finding[] = [];
  const what = CERT_NAMES[kind];
  const date = new Date(cert.validTo).toISOString().slice(0, 10);
  const renew = `Renew the ${what} (with a key of RSA ≥ 3072 bits or ECDSA P-256/P-384) and restart the server.`;
  const left = Date.parse(cert.validTo) - now;
  if (left <= 0)
    out.push({
      severity: 'critical',
      code: 'certificate-expired',
      params: { cert: kind, date },
      title: `The ${what} expired on ${date}`,
      fix: renew,
    });
  else {
    const soon = EXPIRY_WINDOWS.find((w) => left < w.days * DAY_MS);
    if (soon)
      out.push({
        severity: soon.severity,
        code: soon.code,
        params: { cert: kind, date, days: soon.days },
        title: `The ${what} expires within ${soon.days} days (${date})`,
        fix: renew,
      });
  }
  const key = cert.publicKey;
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'rsa' || key.asymmetricKeyType === 'rsa-pss' || key.asymmetricKeyType === 'dsa') {
    const bits = details.modulusLength ?? 0;
    if (bits < 2048)
      out.push({
        severity: 'critical',
        code: 'certificate-rsa-weak',
        params: { cert: kind, bits, type: key.asymmetricKeyType.toUpperCase() },
        title: `The ${what} has a ${bits}-bit ${key.asymmetricKeyType.toUpperCase()} key (BSI TR-02102: at least 3000 bits, under 2048 not acceptable)`,
        fix: renew,
      });
    else if (bits < 3000)
      out.push({
        severity: 'medium',
        code: 'certificate-rsa-short',
        params: { cert: kind, bits, type: key.asymmetricKeyType.toUpperCase() },
        title: `The ${what} has a ${bits}-bit ${key.asymmetricKeyType.toUpperCase()} key (BSI TR-02102 recommends at least 3000 bits)`,
        fix: renew,
      });
  } else if (key.asymmetricKeyType === 'ec') {
    const bits = curveBits(details.namedCurve ?? '');
    if (bits < 250)
      out.push({
        severity: 'critical',
        code: 'certificate-curve-weak',
        params: { cert: kind, curve: details.namedCurve ?? '?' },
        title: `The ${what} has an elliptic-curve key on ${details.namedCurve ?? 'an unnamed curve'} (BSI TR-02102: at least 250 bits)`,
        fix: renew,
      });
  }
  return out;
}

/** The size of a named curve from its name (prime256v1, secp384r1, brainpoolP256r1…); 0 when unknown. */
function curveBits(name: string): number {
  return Number(/(\d{3})/.exec(name)?.[1] ?? 0);
}

export function sortFindings(findings: Finding[]): Finding[] {
  return [...findings].sort((a, b) => SEVERITIES.indexOf(a.severity) - SEVERITIES.indexOf(b.severity));
}

/** The host of a URL as written (an IPv6 address in brackets), or null when it is no URL. */
function hostOf(url: string): string | null {
  try {
    return new URL(url).hostname;
  } catch {
    return null;
  }
}
