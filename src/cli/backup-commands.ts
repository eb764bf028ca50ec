// `kartei backup [--keys] DEST` and `kartei restore [--check] SRC` (issue 19): parse the
// arguments, run src/ops/backup.ts or src/ops/restore.ts, and say what was done in English,
// like `kartei doctor`. A refusal is one line on stderr and exit 1; nothing is left half-written.
import type { Config } from '../config/config.ts';
import { backupData, backupKeys } from '../ops/backup.ts';
import { ManifestError } from '../ops/backup-manifest.ts';
import { checkBackup, restoreData } from '../ops/restore.ts';
import { restoreKeys } from '../ops/restore-keys.ts';
import { CliError } from './device-commands.ts';

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

function parse(args: string[], flags: string[], usage: string): { on: Set<string>; path: string } {
  const on = new Set(args.filter((a) => flags.includes(a)));
  const rest = args.filter((a) => !flags.includes(a));
  if (rest.length !== 1 || rest[0]!.startsWith('-') || on.size > 1) throw new CliError(`usage: ${usage}`);
  return { on, path: rest[0]! };
}

const manifestRefusal = (e: unknown) => {
  if (e instanceof ManifestError) throw new CliError(`refused: ${e.message}`);
  throw e;
};

export async function backupCommand(config: Config, args: string[]): Promise<number> {
  const { on, path } = parse(args, ['--keys'], 'kartei backup [--keys] DIRECTORY');
  if (on.has('--keys')) {
    const r = await backupKeys(config, path);
    process.stdout.write(
      `keys backed up: ${r.files} file(s) to ${r.dest} (0700/0600) in ${(r.ms / 1000).toFixed(1)} s\n` +
        'Keep this directory apart from the data backups: whoever holds both can read everything.\n',
    );
    return 0;
  }
  const r = await backupData(config, path);
  const c = r.counts;
  process.stdout.write(
    `backup complete: ${r.files} file(s), ${mb(r.bytes)}, in ${(r.ms / 1000).toFixed(1)} s to ${r.dest}\n` +
      `snapshot at ${r.snapshotAt}; manifest SHA-256 ${r.manifestSha256}\n` +
      (r.steps
        ? `steps: database snapshot ${r.steps.snapshot} ms, files ${r.steps.files} ms, audit record ${r.steps.record} ms\n`
        : '') +
      (c
        ? `counts: ${c.tenants} office(s), ${c.persons} person(s), ${c.records} record(s), ${c.instances} image(s), ${c.documentVersions} document version(s)\n`
        : '') +
      (r.note ? `${r.note}\n` : '') +
      'The keys are not in it: back them up separately with `kartei backup --keys DEST`.\n',
  );
  return 0;
}

export async function restoreCommand(config: Config, args: string[]): Promise<number> {
  const { on, path } = parse(args, ['--check', '--keys'], 'kartei restore [--check | --keys] DIRECTORY');
  if (on.has('--keys')) {
    const r = await restoreKeys(config, path).catch(manifestRefusal);
    process.stdout.write(`keys restored: ${r.files} file(s) into ${r.keyDir} (0700/0600)\n`);
    return 0;
  }
  if (on.has('--check')) {
    const { manifest } = await checkBackup(config, path).catch(manifestRefusal);
    process.stdout.write(
      `backup OK: ${manifest.files.length} file(s) match the manifest; snapshot at ${manifest.snapshotAt}\n`,
    );
    return 0;
  }
  const r = await restoreData(config, path).catch(manifestRefusal);
  process.stdout.write(`restored ${r.files} file(s) from the backup of ${r.backupSnapshotAt} into ${config.dataDir}\n`);
  const gaps = Object.entries(r.gap);
  if (gaps.length === 0) process.stdout.write('nothing was witnessed after the backup: no audit events are missing\n');
  for (const [chain, g] of gaps)
    process.stdout.write(
      `audit chain ${chain}: events ${g.from}–${g.to} (witnessed up to ${g.witnessedAt}) happened after the backup and are not in it; recorded as system.restore\n`,
    );
  if (r.previousWitness) process.stdout.write(`the key directory's previous witness is kept as ${r.previousWitness}\n`);
  return 0;
}
