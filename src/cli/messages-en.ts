// What the `kartei` command says, in English (KARTEI_LANG=en; src/cli/messages.ts chooses).
// Complete by type: every key of the German (messages-de.ts).
import type { CliMessageKey } from './messages-de.ts';

export const MESSAGES_EN: Record<CliMessageKey, string> = {
  usage: `usage: kartei <command>
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
{offices}Language: English (KARTEI_LANG=en); without KARTEI_LANG, German.
`,
  'offices.usage': `  offices add NAME [--host HOST]   create an office and print its one-time setup link (24 h)
  offices list                     the offices: name, address, set up or not
  offices renew NAME               a new setup link for an office nobody has set up yet
`,
  'progress.migrations': 'migrations',
  'progress.audit': 'verifying audit events',
  'audit.broken': 'audit chain BROKEN: tenant {tenant}, first bad sequence number {seq}: {problem}',
  'audit.ok': 'audit chain OK: {count} events verified in {secs} ({tail} after the last signed checkpoint)',
  'audit.restored':
    'restored on {at} from the backup of {backupAt}; audit events witnessed after the backup and not in it: {gap} (recorded as system.restore)',
  'audit.restored.none': 'none',
  'audit.rotated':
    'rotated: audit signing key {current} replaces {retired} (kept as a retired key for verification); {audited} chain(s) recorded the rotation, every chain signed with the new key',
  'audit.rotated.resumed':
    'finished the interrupted rotation: audit signing key {current} replaces {retired} (kept as a retired key for verification); {audited} chain(s) recorded the rotation, every chain signed with the new key',
  'doctor.runtime': 'runtime: Node.js {node}, OpenSSL {openssl}',
  'doctor.allocator': 'allocator: {summary}',
  'doctor.none': 'No findings.',
  'doctor.fix': 'fix',
  'doctor.reason': 'reason',
  'severity.critical': 'CRITICAL',
  'severity.high': 'HIGH',
  'severity.medium': 'MEDIUM',
  'severity.low': 'LOW',
  'severity.info': 'INFO',
  'serve.allocator': 'allocator: {summary}',
  'serve.setup': 'Setup: {link}',
  'serve.setupElsewhere':
    "Setup: the setup link was printed by the Kartei instance on {host} (pid {pid}, running since {since}); see its output or its data directory's setup-token file. For a new link, restart that instance (the old link stops working).",
  'usage.line': 'usage: {usage}',
  'backup.usage': 'kartei backup [--keys] DIRECTORY',
  'restore.usage': 'kartei restore [--check | --keys] DIRECTORY',
  'backup.refused': 'refused: {reason}',
  'backup.keys.done': 'keys backed up: {files} file(s) to {dest} (0700/0600) in {secs}',
  'backup.keys.apart': 'Keep this directory apart from the data backups: whoever holds both can read everything.',
  'backup.done': 'backup complete: {files} file(s), {size}, in {secs} to {dest}',
  'backup.snapshot': 'snapshot at {at}; manifest SHA-256 {sha}',
  'backup.steps': 'steps: database snapshot {snapshot} ms, files {files} ms, audit record {record} ms',
  'backup.counts':
    'counts: {tenants} office(s), {persons} person(s), {records} record(s), {instances} image(s), {documentVersions} document version(s)',
  'backup.noKeys': 'The keys are not in it: back them up separately with `kartei backup --keys DEST`.',
  'backup.notice.postgres':
    'PostgreSQL: this backup holds the files and the witness, not the database. Take the database with `pg_dump -Fc` (or `pg_basebackup`) BEFORE each `kartei backup`: every file a row of that dump names is in here.',
  'backup.notice.postgresDatabase':
    "PostgreSQL with images and documents in the database ({images} images, {documents} document versions, {bytes} sealed bytes): they are in the database's dump, not here; this backup holds the witness. Take the database with `pg_dump -Fc` (or `pg_basebackup`) BEFORE each `kartei backup`, and keep the key backup apart.",
  'backup.notice.s3':
    'Images and documents are in the S3 bucket {bucket} ({images} images, {documents} document versions, each checked there): they are not in this backup. Keep the bucket versioned or replicated (Kartei never overwrites or removes an object a row names), and keep the key backup apart.',
  'backup.notice.s3Postgres':
    'Images and documents are in the S3 bucket {bucket} ({images} images, {documents} document versions, each checked there): they are not in this backup. Keep the bucket versioned or replicated (Kartei never overwrites or removes an object a row names); take the database with `pg_dump -Fc` BEFORE each `kartei backup`, and keep the key backup apart.',
  'restore.keys.done': 'keys restored: {files} file(s) into {keyDir} (0700/0600)',
  'restore.check.ok': 'backup OK: {files} file(s) match the manifest; snapshot at {at}',
  'restore.done': 'restored {files} file(s) from the backup of {at} into {dataDir}',
  'restore.noGap': 'nothing was witnessed after the backup: no audit events are missing',
  'restore.gap':
    'audit chain {chain}: events {from}–{to} (witnessed up to {at}) happened after the backup and are not in it; recorded as system.restore',
  'restore.witnessKept': "the key directory's previous witness is kept as {file}",
  'usage.block': 'usage:\n{usage}',
  'offices.created': 'office "{name}" created (id {id}, address {host})',
  'offices.anyHost': '(any)',
  'offices.anyAddress': '(any address)',
  'offices.none': 'No offices yet.',
  'offices.setUp': 'set up',
  'offices.waiting': 'waiting for setup',
  'devices.usage': `usage: kartei devices <list | add | remove ID>
  add --ae AE_TITLE --department CODE|ID --permissions store,find,retrieve
      [--certificate device.pem] [--host 127.0.0.1] [--port 104]
  env: KARTEI_API_TOKEN (an administrator's token with the admin scope: POST /api/auth/tokens), KARTEI_PUBLIC_URL
`,
  'devices.noToken':
    "set KARTEI_API_TOKEN to an administrator's API token with the admin scope (POST /api/auth/tokens)",
  'devices.plainHttp':
    "the API token (KARTEI_API_TOKEN) is not sent unencrypted: {base} is an http:// address beyond this machine; set KARTEI_PUBLIC_URL to the server's https:// address",
  'devices.certificate': 'certificate',
  'devices.host': 'host {host}',
  'devices.unreachable': 'cannot reach the server at {base} ({error}); is it running? (KARTEI_PUBLIC_URL)',
  'cli.noDepartment': 'no department with code or id "{department}"',
  'keys.usage': `usage: kartei keys <status | rotate-master | rotate-department CODE|ID [--office ID]
                     | rewrap-department CODE|ID [--office ID] [--batch N]
                     | reencrypt-department CODE|ID [--office ID] [--batch N] [--keep-old] | reload-tls>
  status          the master key's id and age, and whether a rotation is under way
  rotate-master   wrap every office's key under a new master key (stop the server first);
                  run again after an interruption, it completes the rotation
  rotate-department  a new key version for the department, with the servers running: every
                  instance seals new data under it within seconds, everything sealed before still opens
  rewrap-department  then its persons' keys re-wrapped under the new version, in batches with
                  progress (servers may run); interrupted, run again to go on
  reencrypt-department  everything of the department still under an earlier key version sealed
                  again under the current one (persons' keys, fields, images), servers running, with
                  progress; interrupted, run again; then the earlier versions are retired (--keep-old: not)
  reload-tls      make the running server read its TLS certificates again (SIGHUP)
`,
  'keys.master': 'master key {id}, in use since {since} ({days} days)',
  'keys.index.stored': 'deployment index key: stored under the master (rotated before)',
  'keys.index.derived': 'deployment index key: derived from the master',
  'keys.interrupted.before':
    'ROTATION INTERRUPTED before its switch (next master {next}): run `kartei keys rotate-master` to complete it',
  'keys.interrupted.after':
    'ROTATION INTERRUPTED after its switch (retired master {retired}): run `kartei keys rotate-master` to complete it',
  'keys.officeKeys': 'office keys wrapped under {id}: {n}',
  'keys.department': 'department {code} (office {office}): key version {version}',
  'keys.department.earlier': ', earlier {earlier}',
  'keys.department.retired': ' (retired)',
  'keys.department.pending':
    '; version {pending} PENDING: run `kartei keys rotate-department {code}` to complete the rotation',
  'keys.noInstallation':
    'no data directory at {dataDir}: nothing is set up here, so there is no master key to rotate (check KARTEI_DATA_DIR)',
  'keys.masterServerRunning': 'the master key is rotated with the server stopped: {reason}',
  'keys.duringBackup.master': 'the master key is not rotated during a backup: {reason}',
  'keys.duringBackup.rotation': 'no department key rotation during a backup: {reason}',
  'keys.duringBackup.rewrap': 'no re-wrap of person keys during a backup: {reason}',
  'keys.duringBackup.reencrypt': 'no re-encryption during a backup: {reason}',
  'keys.department.prepared':
    'department {code}: key version {to} prepared; waiting {secs} s until every running instance knows it',
  'keys.department.rotated':
    'department {code} ({id}): key version {from} → {to}; every instance seals new data under version {to} within {secs} s, earlier data keeps opening',
  'keys.departmentAmbiguous': '{n} offices have a department "{department}": name one with --office ID',
  'keys.rewrap.progress':
    'department {code}: {done} of {total} person keys under key version {version} ({now} re-wrapped now)',
  'keys.reencrypt.personKeys': 'person keys',
  'keys.reencrypt.fields': 'sealed fields',
  'keys.reencrypt.images': 'images',
  'keys.reencrypt.progress': 'department {code}: {what} {done}/{total} looked at',
  'keys.reencrypt.done':
    'department {code}: under key version {version} now — {personKeys} person key(s), {fields} field(s), {images} image(s) sealed again; {changed} changed meanwhile (left as written)',
  'keys.reencrypt.unreadable':
    "{n} item(s) under an earlier version do not open with the department's key: nothing retired; see kartei doctor",
  'keys.reencrypt.retired': 'earlier key version(s) {versions} retired',
  'keys.rotated':
    'master key rotated: {from} → {to}; {offices} office key(s) under the new master ({now} re-wrapped now)',
  'keys.rotated.resumed':
    'master key interrupted rotation completed: {from} → {to}; {offices} office key(s) under the new master ({now} re-wrapped now)',
  'keys.rotateAgain': 'run `kartei keys rotate-master` again for a new rotation',
  'keys.backupNow': 'back up the key directory now: the old master no longer opens the office keys',
  'keys.noServer': 'no running server: {lock} names no running kartei serve',
  'keys.cannotSignal': 'cannot signal the server (process {pid}): {code}',
  'keys.reloadAsked': 'asked the server (process {pid}) to reload its TLS certificates; its log says the outcome',
  // Issue 19: s23-german-cli — Node's parseArgs refusals (src/cli/cli-error.ts)
  'cli.parse.unknownOption': 'unknown option {option}: check its spelling (the options are listed below)',
  'cli.parse.needsValue': 'the option {option} needs a value: give {option} VALUE',
  'cli.parse.takesNoValue': 'the option {option} takes no value: give {option} without =…',
  'cli.parse.unexpectedArgument': 'unexpected argument "{argument}": this command takes none',
  // s24: echo — a second word where a command takes one (src/cli/cli-error.ts oneArgument).
  'cli.parse.extraArgument': 'extra argument "{argument}": this command takes only one',
  // s24-review: an error kartei has no refusal for (src/cli/unexpected-error.ts); a text it read is not repeated.
  'unexpected.error':
    'unexpected error ({what}); please report it with the lines below (what was read is not repeated here):',
  'unexpected.json': 'a text read cannot be read as JSON',
};
