// `kartei backup [--keys] DEST` and `kartei restore [--check] SRC` (issue 19): parse the
// arguments, run src/ops/backup.ts or src/ops/restore.ts, and say what was done in the operator's
// language (src/cli/messages.ts). A refusal is one line on stderr and exit 1; nothing is left half-written.
import type { Config } from '../config/config.ts';
import { backupData, backupKeys, type BackupNotice } from '../ops/backup.ts';
import { ManifestError } from '../ops/backup-manifest.ts';
import { checkBackup, restoreData } from '../ops/restore.ts';
import { restoreKeys } from '../ops/restore-keys.ts';
import { CliError, oneArgument, parseCliArgs } from './cli-error.ts';
import { refusalText } from './refusals.ts'; // Issue 19: s23-german-cli
import { formatCount, formatMb, formatMoment, formatSeconds, msg } from './messages.ts';

// s24: echo — Node's parseArgs (src/cli/cli-error.ts): an unknown option or a second directory is refused
// naming it, with the usage below (before, with the usage alone).
function parse(args: string[], flags: string[], usage: string): { on: Set<string>; path: string } {
  const line = msg('usage.line', { usage });
  const options = Object.fromEntries(flags.map((f) => [f.slice(2), { type: 'boolean' as const }]));
  const { values, positionals } = parseCliArgs({ args, options, allowPositionals: true }, line);
  const on = new Set(flags.filter((f) => values[f.slice(2)] === true));
  if (on.size > 1) throw new CliError(line);
  return { on, path: oneArgument(positionals, line) };
}

const manifestRefusal = (e: unknown) => {
  if (e instanceof ManifestError) throw new CliError(msg('backup.refused', { reason: refusalText(e) }));
  throw e;
};

export async function backupCommand(config: Config, args: string[]): Promise<number> {
  const { on, path } = parse(args, ['--keys'], msg('backup.usage'));
  if (on.has('--keys')) {
    const r = await backupKeys(config, path);
    process.stdout.write(
      `${msg('backup.keys.done', { files: formatCount(r.files), dest: r.dest, secs: formatSeconds(r.ms) })}\n` +
        `${msg('backup.keys.apart')}\n`,
    );
    return 0;
  }
  const r = await backupData(config, path);
  const c = r.counts;
  const steps = r.steps;
  const done = { files: formatCount(r.files), size: formatMb(r.bytes), secs: formatSeconds(r.ms), dest: r.dest };
  process.stdout.write(
    `${msg('backup.done', done)}\n` +
      `${msg('backup.snapshot', { at: formatMoment(r.snapshotAt), sha: r.manifestSha256 })}\n` +
      (steps ? `${msg('backup.steps', { ...steps })}\n` : '') +
      (c
        ? `${msg('backup.counts', Object.fromEntries(Object.entries(c).map(([k, v]) => [k, formatCount(v)])))}\n`
        : '') +
      (r.notice ? `${noticeText(r.notice)}\n` : r.note ? `${r.note}\n` : '') +
      `${msg('backup.noKeys')}\n`,
  );
  return 0;
}

/** Where the images and documents are when they are not in this backup, in the operator's language. */
function noticeText(n: BackupNotice): string {
  if (n.kind === 'postgres') return msg('backup.notice.postgres');
  const counts = { images: formatCount(n.images), documents: formatCount(n.documents) };
  if (n.kind === 'postgres-database')
    return msg('backup.notice.postgresDatabase', { ...counts, bytes: formatCount(n.bytes) });
  return msg(n.postgres ? 'backup.notice.s3Postgres' : 'backup.notice.s3', { ...counts, bucket: n.bucket });
}

export async function restoreCommand(config: Config, args: string[]): Promise<number> {
  const { on, path } = parse(args, ['--check', '--keys'], msg('restore.usage'));
  if (on.has('--keys')) {
    const r = await restoreKeys(config, path).catch(manifestRefusal);
    process.stdout.write(`${msg('restore.keys.done', { files: formatCount(r.files), keyDir: r.keyDir })}\n`);
    return 0;
  }
  if (on.has('--check')) {
    const { manifest } = await checkBackup(config, path).catch(manifestRefusal);
    const checked = { files: formatCount(manifest.files.length), at: formatMoment(manifest.snapshotAt) };
    process.stdout.write(`${msg('restore.check.ok', checked)}\n`);
    return 0;
  }
  const r = await restoreData(config, path).catch(manifestRefusal);
  const restored = { files: formatCount(r.files), at: formatMoment(r.backupSnapshotAt), dataDir: config.dataDir };
  process.stdout.write(`${msg('restore.done', restored)}\n`);
  const gaps = Object.entries(r.gap);
  if (gaps.length === 0) process.stdout.write(`${msg('restore.noGap')}\n`);
  for (const [chain, g] of gaps)
    process.stdout.write(`${msg('restore.gap', { chain, from: g.from, to: g.to, at: formatMoment(g.witnessedAt) })}\n`);
  if (r.previousWitness) process.stdout.write(`${msg('restore.witnessKept', { file: r.previousWitness })}\n`);
  return 0;
}
