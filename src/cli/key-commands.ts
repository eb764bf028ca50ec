// Issue 19: keys — `kartei keys status|rotate-master|rotate-department|rewrap-department|reencrypt-department|reload-tls`: the operator's key commands.
// A master rotation runs with the server stopped (it takes the data directory's lock), is
// audited on the installation's chain (who at the machine, when, which key ids — never a
// key), and completes an interrupted one when run again (src/vault/master-rotation.ts).
// A department key rotation runs with the servers running (src/ops/department-rotation.ts): a
// pending version, then the switch with its audit event in the office's chain; a crash leaves
// the old version (perhaps with the pending one) or the new one, all readable. `reload-tls` asks the running
// server to read its certificates again (SIGHUP).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Config } from '../config/config.ts';
import { ConfigError } from '../config/config.ts';
import { inTenantTransaction } from '../db/connect.ts';
import { DEPLOYMENT_CHAIN } from '../db/schema.ts';
import { LOCK_FILE, lockDataDir, runningServer } from '../ops/serve-lock.ts';
import { lockBackup } from '../ops/backup-lock.ts'; // Issue 19: backup2
import type { Services } from '../services.ts';
import {
  masterRotationState,
  officeKeysByMaster,
  rotateMaster,
  type MasterRotationStep,
} from '../vault/master-rotation.ts';
import { CliError, noArguments, oneArgument, parseCliArgs } from './cli-error.ts';
import { refusalText } from './refusals.ts';
// Issue 19: keys-online
import { rotateDepartmentOnline } from '../ops/department-rotation.ts';
import { ReencryptError, reencryptDepartment } from '../ops/department-reencrypt.ts';
import { departmentKeyState } from '../vault/department-versions.ts';
// Issue 19: cli-german — what the key commands print, in the operator's language.
import { formatCount, formatMoment, msg } from './messages.ts';
import type { CliMessageKey } from './messages-de.ts';

/** Test hook (NODE_ENV=test only): the rotation kills its own process after this step (`step` or `step:n`). */
export const KEYS_CRASH_VARIABLE = 'KARTEI_TEST_KEYS_CRASH_AT';

export async function keysCommand(
  config: Config,
  args: string[],
  withServices: (config: Config, run: (s: Services) => Promise<number>) => Promise<number>,
): Promise<number> {
  const [sub] = args;
  // Issue 19: s23-review — `keys rotate-master --help` rotated the master key: these take no words after them.
  if (sub === 'status' || sub === 'rotate-master' || sub === 'reload-tls')
    noArguments(args.slice(1), msg('keys.usage'));
  if (sub === 'status') return status(config, withServices);
  if (sub === 'rotate-master') return rotate(config, withServices);
  if (sub === 'rotate-department') return rotateDepartment(config, args.slice(1), withServices);
  if (sub === 'rewrap-department') return rewrapDepartment(config, args.slice(1), withServices);
  if (sub === 'reencrypt-department') return reencrypt(config, args.slice(1), withServices); // Issue 19: keys-online
  if (sub === 'reload-tls') return reloadTls(config);
  throw new CliError(msg('keys.usage'));
}

async function status(config: Config, withServices: Parameters<typeof keysCommand>[2]): Promise<number> {
  const st = masterRotationState(config.keyDir);
  const days = Math.floor((Date.now() - st.since.getTime()) / 86_400_000);
  process.stdout.write(
    `${msg('keys.master', { id: st.current, since: formatMoment(st.since), days: formatCount(days) })}\n`,
  );
  process.stdout.write(`${msg(st.indexStored ? 'keys.index.stored' : 'keys.index.derived')}\n`);
  if (st.state === 'before-switch')
    process.stdout.write(`${msg('keys.interrupted.before', { next: String(st.next) })}\n`);
  if (st.state === 'after-switch')
    process.stdout.write(`${msg('keys.interrupted.after', { retired: String(st.retired) })}\n`);
  await withServices(config, async (s) => {
    const byMaster = await officeKeysByMaster(s.store);
    for (const [id, n] of Object.entries(byMaster))
      process.stdout.write(
        `${msg('keys.officeKeys', { id: id === 'current' ? st.current : id, n: formatCount(n) })}\n`,
      );
    // Issue 19: keys-online — departments whose key has rotated: the current version, earlier and pending ones.
    for (const { id: tenantId } of await s.store.db.selectFrom('tenants').select('id').execute()) {
      const lines = await inTenantTransaction(s.store, tenantId, async (tx) => {
        const out: string[] = [];
        const departments = await tx
          .selectFrom('departments')
          .select(['id', 'code'])
          .where('tenant_id', '=', tenantId)
          .execute();
        for (const d of departments) {
          const k = await departmentKeyState(tx, tenantId, d.id);
          if (k.version === 1 && k.pending === undefined) continue;
          const earlier = k.earlier
            .map((e) => `${e.version}${e.retired ? msg('keys.department.retired') : ''}`)
            .join(', ');
          out.push(
            msg('keys.department', { code: d.code, office: tenantId, version: k.version }) +
              (earlier ? msg('keys.department.earlier', { earlier }) : '') +
              (k.pending ? msg('keys.department.pending', { pending: k.pending, code: d.code }) : ''),
          );
        }
        return out;
      });
      for (const l of lines) process.stdout.write(`${l}\n`);
    }
    return 0;
  });
  return st.state === 'none' ? 0 : 1;
}

/** The data directory's lock, or a refusal that says the server must be stopped first. */
function lockForRotation(config: Config): () => void {
  // No data directory: no installation yet, whose keys there would be nothing to rotate (not a stack trace).
  if (!fs.existsSync(config.dataDir)) throw new CliError(msg('keys.noInstallation', { dataDir: config.dataDir }));
  try {
    return lockDataDir(config.dataDir);
  } catch (e) {
    if (e instanceof ConfigError) throw new CliError(msg('keys.masterServerRunning', { reason: refusalText(e) }));
    throw e;
  }
}

const crashAt = () => (process.env.NODE_ENV === 'test' ? process.env[KEYS_CRASH_VARIABLE] : undefined);

async function rotateDepartment(
  config: Config,
  args: string[],
  withServices: Parameters<typeof keysCommand>[2],
): Promise<number> {
  const { values, positionals } = parseCliArgs(
    { args, options: { office: { type: 'string' } }, allowPositionals: true },
    msg('keys.usage'),
  );
  const wanted = oneArgument(positionals, msg('keys.usage')); // s24: echo — a second word named
  // Issue 19: keys-online — with the servers running; not during a backup (nor a backup during it).
  const unlock = lockAgainstBackup(config, 'department key rotation', 'keys.duringBackup.rotation');
  try {
    return await withServices(config, async (s) => {
      const d = await findDepartment(s, wanted, values.office);
      const r = await rotateDepartmentOnline(s, d, {
        onPending: (p) =>
          process.stdout.write(
            `${msg('keys.department.prepared', { code: d.code, to: p.to, secs: Math.ceil(p.waitMs / 1000) })}\n`,
          ),
        step: (name) => {
          if (name === 'pending' && crashAt() === 'department-pending') process.kill(process.pid, 'SIGKILL');
          if (name === 'switched' && crashAt() === 'department-sealed') process.kill(process.pid, 'SIGKILL');
        },
      });
      if (crashAt() === 'department-committed') process.kill(process.pid, 'SIGKILL');
      const secs = Math.ceil(s.keyring.refreshMs / 1000);
      process.stdout.write(
        `${msg('keys.department.rotated', { code: d.code, id: d.id, from: r.from, to: r.to, secs })}\n`,
      );
      return 0;
    });
  } finally {
    unlock();
  }
}

/** Issue 19: keys-online — the backup lock for a key operation, or a refusal naming the running backup. */
function lockAgainstBackup(config: Config, what: string, refused: CliMessageKey): () => void {
  try {
    return lockBackup(config.dataDir, what);
  } catch (e) {
    if (e instanceof ConfigError) throw new CliError(msg(refused, { reason: refusalText(e) }));
    throw e;
  }
}

/** The one department named by code or id (in the office given, or in whichever office has it). */
async function findDepartment(s: Services, wanted: string, office: string | undefined) {
  const found: { tenantId: string; id: string; code: string }[] = [];
  for (const { id: tenantId } of await s.store.db.selectFrom('tenants').select('id').execute()) {
    if (office && office !== tenantId) continue;
    const rows = await inTenantTransaction(s.store, tenantId, (tx) =>
      tx
        .selectFrom('departments')
        .select(['id', 'code'])
        .where('tenant_id', '=', tenantId)
        .where((w) => w.or([w('code', '=', wanted), w('id', '=', wanted)]))
        .execute(),
    );
    found.push(...rows.map((r) => ({ tenantId, ...r })));
  }
  if (found.length === 0) throw new CliError(msg('cli.noDepartment', { department: wanted }));
  if (found.length > 1) throw new CliError(msg('keys.departmentAmbiguous', { n: found.length, department: wanted }));
  return found[0]!;
}

/**
 * After a department key rotation: its persons' keys re-wrapped under the newest version, in
 * batches (each one transaction), with progress; interrupted, it goes on where it stopped.
 * Audited when it starts and when it is done (counts and versions only).
 */
async function rewrapDepartment(
  config: Config,
  args: string[],
  withServices: Parameters<typeof keysCommand>[2],
): Promise<number> {
  const { values, positionals } = parseCliArgs(
    { args, options: { office: { type: 'string' }, batch: { type: 'string' } }, allowPositionals: true },
    msg('keys.usage'),
  );
  const wanted = oneArgument(positionals, msg('keys.usage')); // s24: echo — a second word named
  const batch = Number(values.batch ?? 500);
  if (!Number.isInteger(batch) || batch < 1) throw new CliError(msg('keys.usage'));
  // Issue 19: keys-online — servers may run
  const unlock = lockAgainstBackup(config, 're-wrap of person keys', 'keys.duringBackup.rewrap');
  try {
    return await withServices(config, async (s) => {
      const d = await findDepartment(s, wanted, values.office);
      const audit = (tx: Parameters<typeof s.audit.append>[0], detail: Record<string, string | number>) =>
        s.audit.append(tx, {
          tenantId: d.tenantId,
          actorId: null,
          action: 'keys.department.rewrap',
          resourceType: 'department',
          resourceId: d.id,
          departmentId: d.id,
          outcome: 'allowed',
          detail: { ...detail, operator: os.userInfo().username },
        });
      let done = 0;
      for (let round = 1; ; round++) {
        const r = await inTenantTransaction(s.store, d.tenantId, async (tx) => {
          const step = await s.keyring.rewrapPersonKeys(tx, d.tenantId, d.id, batch);
          if (round === 1)
            await audit(tx, { phase: 'started', version: step.version, left: step.rewrapped + step.left });
          if (step.left === 0) await audit(tx, { phase: 'completed', version: step.version, total: step.total });
          return step;
        });
        done += r.rewrapped;
        const counts = { done: formatCount(r.total - r.left), total: formatCount(r.total), now: formatCount(done) };
        process.stdout.write(`${msg('keys.rewrap.progress', { code: d.code, version: r.version, ...counts })}\n`);
        if (crashAt() === `rewrap-batch:${round}`) process.kill(process.pid, 'SIGKILL');
        if (r.left === 0) return 0;
      }
    });
  } finally {
    unlock();
  }
}

/** Issue 19: keys-online — `reencrypt-department`: src/ops/department-reencrypt.ts, with progress and the backup lock. */
async function reencrypt(
  config: Config,
  args: string[],
  withServices: Parameters<typeof keysCommand>[2],
): Promise<number> {
  const { values, positionals } = parseCliArgs(
    {
      args,
      options: { office: { type: 'string' }, batch: { type: 'string' }, 'keep-old': { type: 'boolean' } },
      allowPositionals: true,
    },
    msg('keys.usage'),
  );
  const wanted = oneArgument(positionals, msg('keys.usage')); // s24: echo — a second word named
  const batch = Number(values.batch ?? 200);
  if (!Number.isInteger(batch) || batch < 1) throw new CliError(msg('keys.usage'));
  const unlock = lockAgainstBackup(config, 're-encryption', 'keys.duringBackup.reencrypt');
  try {
    return await withServices(config, async (s) => {
      const d = await findDepartment(s, wanted, values.office);
      const names = {
        'person-keys': 'keys.reencrypt.personKeys',
        fields: 'keys.reencrypt.fields',
        images: 'keys.reencrypt.images',
      } as const;
      let r: Awaited<ReturnType<typeof reencryptDepartment>>;
      try {
        r = await reencryptDepartment(s, d, {
          batch,
          retire: !values['keep-old'],
          progress: (phase, done, total) =>
            process.stdout.write(
              `${msg('keys.reencrypt.progress', {
                code: d.code,
                what: msg(names[phase]),
                done: formatCount(done),
                total: formatCount(total),
              })}\n`,
            ),
          step: (phase, n) => {
            if (crashAt() === `reencrypt-${phase}:${n}`) process.kill(process.pid, 'SIGKILL');
          },
        });
      } catch (e) {
        if (e instanceof ReencryptError) throw new CliError(refusalText(e));
        throw e;
      }
      const counts = { personKeys: r.personKeys, fields: r.fields, images: r.images, changed: r.changed };
      const done = Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, formatCount(v)]));
      process.stdout.write(`${msg('keys.reencrypt.done', { code: d.code, version: r.version, ...done })}\n`);
      if (r.unreadable > 0)
        process.stdout.write(`${msg('keys.reencrypt.unreadable', { n: formatCount(r.unreadable) })}\n`);
      if (r.retired.length > 0)
        process.stdout.write(`${msg('keys.reencrypt.retired', { versions: r.retired.join(', ') })}\n`);
      return r.unreadable > 0 ? 1 : 0;
    });
  } finally {
    unlock();
  }
}

async function rotate(config: Config, withServices: Parameters<typeof keysCommand>[2]): Promise<number> {
  const unlockServe = lockForRotation(config);
  // Issue 19: backup2 — no backup (data or keys) during the rotation, nor a rotation during a backup.
  let unlockBackup: () => void;
  try {
    unlockBackup = lockBackup(config.dataDir, 'master key rotation');
  } catch (e) {
    unlockServe();
    throw e instanceof ConfigError ? new CliError(msg('keys.duringBackup.master', { reason: refusalText(e) })) : e;
  }
  const unlock = () => {
    unlockBackup();
    unlockServe();
  };
  const seen = new Map<MasterRotationStep, number>();
  try {
    return await withServices(config, async (s) => {
      const found = masterRotationState(config.keyDir).state;
      const audit = (phase: string, ids: { from: string; to: string }, extra: Record<string, number> = {}) =>
        inTenantTransaction(s.store, DEPLOYMENT_CHAIN, (tx) =>
          s.audit.append(tx, {
            tenantId: DEPLOYMENT_CHAIN,
            actorId: null,
            action: 'keys.master.rotate',
            resourceType: 'master-key',
            outcome: 'allowed',
            detail: { phase, from: ids.from, to: ids.to, operator: os.userInfo().username, ...extra },
          }),
        );
      const r = await rotateMaster(config.keyDir, s.store, async (step, ids) => {
        if (step === 'prepared') await audit(found === 'none' ? 'started' : 'resumed', ids);
        if (step === 'finished' && found === 'after-switch') await audit('resumed', ids);
        const n = (seen.get(step) ?? 0) + 1;
        seen.set(step, n);
        if (crashAt() === step || crashAt() === `${step}:${n}`) process.kill(process.pid, 'SIGKILL');
      });
      await audit('completed', r, { offices: r.offices, rewrapped: r.rewrapped });
      const rotated = { from: r.from, to: r.to, offices: formatCount(r.offices), now: formatCount(r.rewrapped) };
      process.stdout.write(`${msg(r.found === 'none' ? 'keys.rotated' : 'keys.rotated.resumed', rotated)}\n`);
      if (r.found !== 'none') process.stdout.write(`${msg('keys.rotateAgain')}\n`);
      process.stdout.write(`${msg('keys.backupNow')}\n`);
      return 0;
    });
  } finally {
    unlock();
  }
}

/** Sends SIGHUP to the server holding the data directory's lock. */
function reloadTls(config: Config): number {
  const lock = path.join(config.dataDir, LOCK_FILE);
  // Only a running `kartei serve` is signalled: a stale lock (its pid reused) or a planted one names
  // another process, which SIGHUP would end.
  const pid = runningServer(config.dataDir);
  if (pid === undefined) throw new CliError(msg('keys.noServer', { lock }));
  try {
    process.kill(pid, 'SIGHUP');
  } catch (e) {
    throw new CliError(msg('keys.cannotSignal', { pid, code: String((e as NodeJS.ErrnoException).code) }));
  }
  process.stdout.write(`${msg('keys.reloadAsked', { pid })}\n`);
  return 0;
}
