// Issue 19: keys — `kartei keys status|rotate-master|rotate-department|rewrap-department|reencrypt-department|reload-tls`: the operator's key commands.
// A master rotation runs with the server stopped (it takes the data directory's lock), is
// audited on the installation's chain (who at the machine, when, which key ids — never a
// key), and completes an interrupted one when run again (src/vault/master-rotation.ts).
// A department key rotation runs with the servers running (src/ops/department-rotation.ts): a
// pending version, then the switch with its audit event in the office's chain; a crash leaves
// the old version (perhaps with the pending one) or the new one, all readable. `reload-tls` asks the running
// server to read its certificates again (SIGHUP).
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
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
import { CliError } from './device-commands.ts';
// Issue 19: keys-online
import { rotateDepartmentOnline } from '../ops/department-rotation.ts';
import { ReencryptError, reencryptDepartment } from '../ops/department-reencrypt.ts';
import { departmentKeyState } from '../vault/department-versions.ts';

const KEYS_USAGE = `usage: kartei keys <status | rotate-master | rotate-department CODE|ID [--office ID]
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
`;

/** Test hook (NODE_ENV=test only): the rotation kills its own process after this step (`step` or `step:n`). */
export const KEYS_CRASH_VARIABLE = 'KARTEI_TEST_KEYS_CRASH_AT';

export async function keysCommand(
  config: Config,
  args: string[],
  withServices: (config: Config, run: (s: Services) => Promise<number>) => Promise<number>,
): Promise<number> {
  const [sub] = args;
  if (sub === 'status') return status(config, withServices);
  if (sub === 'rotate-master') return rotate(config, withServices);
  if (sub === 'rotate-department') return rotateDepartment(config, args.slice(1), withServices);
  if (sub === 'rewrap-department') return rewrapDepartment(config, args.slice(1), withServices);
  if (sub === 'reencrypt-department') return reencrypt(config, args.slice(1), withServices); // Issue 19: keys-online
  if (sub === 'reload-tls') return reloadTls(config);
  throw new CliError(KEYS_USAGE);
}

async function status(config: Config, withServices: Parameters<typeof keysCommand>[2]): Promise<number> {
  const st = masterRotationState(config.keyDir);
  const days = Math.floor((Date.now() - st.since.getTime()) / 86_400_000);
  process.stdout.write(`master key ${st.current}, in use since ${st.since.toISOString()} (${days} days)\n`);
  process.stdout.write(
    `deployment index key: ${st.indexStored ? 'stored under the master (rotated before)' : 'derived from the master'}\n`,
  );
  if (st.state === 'before-switch')
    process.stdout.write(
      `ROTATION INTERRUPTED before its switch (next master ${st.next}): run \`kartei keys rotate-master\` to complete it\n`,
    );
  if (st.state === 'after-switch')
    process.stdout.write(
      `ROTATION INTERRUPTED after its switch (retired master ${st.retired}): run \`kartei keys rotate-master\` to complete it\n`,
    );
  await withServices(config, async (s) => {
    const byMaster = await officeKeysByMaster(s.store);
    for (const [id, n] of Object.entries(byMaster))
      process.stdout.write(`office keys wrapped under ${id === 'current' ? st.current : id}: ${n}\n`);
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
          const earlier = k.earlier.map((e) => `${e.version}${e.retired ? ' (retired)' : ''}`).join(', ');
          out.push(
            `department ${d.code} (office ${tenantId}): key version ${k.version}${earlier ? `, earlier ${earlier}` : ''}${k.pending ? `; version ${k.pending} PENDING: run \`kartei keys rotate-department ${d.code}\` to complete the rotation` : ''}`,
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
function lockForRotation(config: Config, what: string): () => void {
  try {
    return lockDataDir(config.dataDir);
  } catch (e) {
    if (e instanceof ConfigError) throw new CliError(`${what} is rotated with the server stopped: ${e.message}`);
    throw e;
  }
}

const crashAt = () => (process.env.NODE_ENV === 'test' ? process.env[KEYS_CRASH_VARIABLE] : undefined);

async function rotateDepartment(
  config: Config,
  args: string[],
  withServices: Parameters<typeof keysCommand>[2],
): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { office: { type: 'string' } }, allowPositionals: true });
  const [wanted] = positionals;
  if (!wanted || positionals.length > 1) throw new CliError(KEYS_USAGE);
  // Issue 19: keys-online — with the servers running; not during a backup (nor a backup during it).
  const unlock = lockAgainstBackup(config, 'department key rotation');
  try {
    return await withServices(config, async (s) => {
      const d = await findDepartment(s, wanted, values.office);
      const r = await rotateDepartmentOnline(s, d, {
        onPending: (p) =>
          process.stdout.write(
            `department ${d.code}: key version ${p.to} prepared; waiting ${Math.ceil(p.waitMs / 1000)} s until every running instance knows it\n`,
          ),
        step: (name) => {
          if (name === 'pending' && crashAt() === 'department-pending') process.kill(process.pid, 'SIGKILL');
          if (name === 'switched' && crashAt() === 'department-sealed') process.kill(process.pid, 'SIGKILL');
        },
      });
      if (crashAt() === 'department-committed') process.kill(process.pid, 'SIGKILL');
      process.stdout.write(
        `department ${d.code} (${d.id}): key version ${r.from} → ${r.to}; every instance seals new data under version ${r.to} within ${Math.ceil(s.keyring.refreshMs / 1000)} s, earlier data keeps opening\n`,
      );
      return 0;
    });
  } finally {
    unlock();
  }
}

/** Issue 19: keys-online — the backup lock for a key operation, or a refusal naming the running backup. */
function lockAgainstBackup(config: Config, what: string): () => void {
  try {
    return lockBackup(config.dataDir, what);
  } catch (e) {
    if (e instanceof ConfigError) throw new CliError(`no ${what} during a backup: ${e.message}`);
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
  if (found.length === 0) throw new CliError(`no department with code or id "${wanted}"`);
  if (found.length > 1)
    throw new CliError(`${found.length} offices have a department "${wanted}": name one with --office ID`);
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
  const { values, positionals } = parseArgs({
    args,
    options: { office: { type: 'string' }, batch: { type: 'string' } },
    allowPositionals: true,
  });
  const [wanted] = positionals;
  const batch = Number(values.batch ?? 500);
  if (!wanted || positionals.length > 1 || !Number.isInteger(batch) || batch < 1) throw new CliError(KEYS_USAGE);
  const unlock = lockAgainstBackup(config, 're-wrap of person keys'); // Issue 19: keys-online — servers may run
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
        process.stdout.write(
          `department ${d.code}: ${r.total - r.left} of ${r.total} person keys under key version ${r.version} (${done} re-wrapped now)\n`,
        );
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
  const { values, positionals } = parseArgs({
    args,
    options: { office: { type: 'string' }, batch: { type: 'string' }, 'keep-old': { type: 'boolean' } },
    allowPositionals: true,
  });
  const [wanted] = positionals;
  const batch = Number(values.batch ?? 200);
  if (!wanted || positionals.length > 1 || !Number.isInteger(batch) || batch < 1) throw new CliError(KEYS_USAGE);
  const unlock = lockAgainstBackup(config, 're-encryption');
  try {
    return await withServices(config, async (s) => {
      const d = await findDepartment(s, wanted, values.office);
      const names = { 'person-keys': 'person keys', fields: 'sealed fields', images: 'images' } as const;
      let r: Awaited<ReturnType<typeof reencryptDepartment>>;
      try {
        r = await reencryptDepartment(s, d, {
          batch,
          retire: !values['keep-old'],
          progress: (phase, done, total) =>
            process.stdout.write(`department ${d.code}: ${names[phase]} ${done}/${total} looked at\n`),
          step: (phase, n) => {
            if (crashAt() === `reencrypt-${phase}:${n}`) process.kill(process.pid, 'SIGKILL');
          },
        });
      } catch (e) {
        if (e instanceof ReencryptError) throw new CliError(e.message);
        throw e;
      }
      process.stdout.write(
        `department ${d.code}: under key version ${r.version} now — ${r.personKeys} person key(s), ${r.fields} field(s), ${r.images} image(s) sealed again; ${r.changed} changed meanwhile (left as written)\n`,
      );
      if (r.unreadable > 0)
        process.stdout.write(
          `${r.unreadable} item(s) under an earlier version do not open with the department's key: nothing retired; see kartei doctor\n`,
        );
      if (r.retired.length > 0) process.stdout.write(`earlier key version(s) ${r.retired.join(', ')} retired\n`);
      return r.unreadable > 0 ? 1 : 0;
    });
  } finally {
    unlock();
  }
}

async function rotate(config: Config, withServices: Parameters<typeof keysCommand>[2]): Promise<number> {
  const unlockServe = lockForRotation(config, 'the master key');
  // Issue 19: backup2 — no backup (data or keys) during the rotation, nor a rotation during a backup.
  let unlockBackup: () => void;
  try {
    unlockBackup = lockBackup(config.dataDir, 'master key rotation');
  } catch (e) {
    unlockServe();
    throw e instanceof ConfigError ? new CliError(`the master key is not rotated during a backup: ${e.message}`) : e;
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
      const how = r.found === 'none' ? 'rotated' : 'interrupted rotation completed';
      process.stdout.write(
        `master key ${how}: ${r.from} → ${r.to}; ${r.offices} office key(s) under the new master (${r.rewrapped} re-wrapped now)\n`,
      );
      if (r.found !== 'none') process.stdout.write('run `kartei keys rotate-master` again for a new rotation\n');
      process.stdout.write('back up the key directory now: the old master no longer opens the office keys\n');
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
  if (pid === undefined) throw new CliError(`no running server: ${lock} names no running kartei serve`);
  try {
    process.kill(pid, 'SIGHUP');
  } catch (e) {
    throw new CliError(`cannot signal the server (process ${pid}): ${(e as NodeJS.ErrnoException).code}`);
  }
  process.stdout.write(`asked the server (process ${pid}) to reload its TLS certificates; its log says the outcome\n`);
  return 0;
}
