// The production start: the memory allocator a Kartei process runs with, chosen by
// measurement (bench/RESULTS.md, issue 18) and applied before the process's first
// allocation. glibc reads its tunables, and the dynamic loader LD_PRELOAD, only when a
// program starts, so `bin/kartei.js` re-executes itself once (process.execve: the same
// pid, nothing left in between) with them set. The operator chooses with
//   KARTEI_ALLOCATOR=tuned (default) | jemalloc | system
// - tuned: glibc's malloc serves blocks up to 32 MiB from its heap instead of a fresh mapping
//   each (mmap_threshold), keeps up to 64 MiB freed at the top of a heap instead of returning
//   it at once (trim_threshold), and uses two arenas, not sixteen (arena_max): the Buffers of
//   every socket read, sealed chunk and file read are no longer mapped, page-faulted in and
//   unmapped again one by one, and freed memory is not spread over arenas that keep it.
// - jemalloc: Debian's libjemalloc2 preloaded; falls back to tuned, with a warning, where the
//   library is absent.
// - system: the environment as given (the operator's own GLIBC_TUNABLES, MALLOC_*_, LD_PRELOAD).
// The start also gives V8 its flags (V8_FLAGS), whichever allocator is chosen.
// The variables the start added are taken out of this process's environment again once it
// runs, so that programs it starts (Orthanc in a benchmark, DCMTK tools) keep their own
// allocator; /proc/<pid>/environ still shows what the process was started with.
import fs from 'node:fs';
import { isMainThread } from 'node:worker_threads';
import type { Finding } from './security-findings.ts';

export const ALLOCATORS = ['tuned', 'jemalloc', 'system'] as const;
export type Allocator = (typeof ALLOCATORS)[number];

/** The default: the measured winner. */
const DEFAULT_ALLOCATOR: Allocator = 'tuned';
/**
 * glibc's tunables glibc.malloc.mmap_threshold, trim_threshold and arena_max by their variables
 * of old (each whole in /proc/<pid>/environ, where glibc cuts GLIBC_TUNABLES up in place).
 */
export const TUNED: Readonly<Record<string, string>> = {
  MALLOC_MMAP_THRESHOLD_: String(32 * 1024 * 1024),
  MALLOC_TRIM_THRESHOLD_: String(64 * 1024 * 1024),
  MALLOC_ARENA_MAX: '2',
};
/**
 * V8's flags of the production start. --max-semi-space-size=8: V8 13.6 (Node 24) lets its young
 * generation grow to 2 × 64 MiB on a machine with this much memory and keeps it committed; a
 * server whose young objects live for one request needs a fraction of that. Capped at 2 × 8 MiB,
 * measured: 20–30 MB less resident memory at idle, and less CPU per stored instance, not more
 * (bench/RESULTS.md, issue 18).
 *
 * --heap-growing-percent=100: after each full collection V8 sets the old generation's next limit at
 * twice what survived, instead of a factor it derives from how fast the old generation grew over
 * the last seconds. After a quiet spell that rate is near zero and the factor falls to its minimum
 * (1.1): a retrieval that follows then meets a full collection for every ~4 MB it promotes, twice
 * to three times the server's CPU per C-GET or C-MOVE. It also replaces V8's smaller factors under
 * memory pressure and near the heap's limit; the next limit stays capped halfway to the heap's
 * maximum. Measured (bench/RESULTS.md, issue 18): 35–47 full collections per retrieval bench run →
 * 5–6, C-GET over TLS 190–197 → 60–70 ms of CPU per study; one-association ingest, WADO-RS, the
 * gated read and memory at rest as before, the 10-minute soak's peak lower (542 against 657–699 MB).
 */
export const V8_FLAGS: readonly string[] = ['--max-semi-space-size=8', '--heap-growing-percent=100'];
export const JEMALLOC_LIBRARY = '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2';
/** jemalloc's purging on a thread of its own, not in the allocating thread. */
const JEMALLOC_CONF = 'background_thread:true';
/** Set by the start for the process it execs: what it applied, and what to restore. */
const LAUNCHED = 'KARTEI_LAUNCHED';

interface Launched {
  allocator: Allocator;
  /** Each variable the start set, with the value it had before (null: unset). */
  restore: Record<string, string | null>;
}

/**
 * Issue 19: s23-german-cli — what the start says, as a code and its parameters beside the English words,
 * for `kartei` to say it in the operator's language (src/cli/launch-words.ts).
 */
export interface LaunchWords {
  code: string;
  params: Record<string, string>;
}

export interface LaunchPlan {
  allocator: Allocator;
  /** The environment to start the Kartei process with. */
  env: NodeJS.ProcessEnv;
  /** Why the request could not be honoured, if it could not. */
  warning?: string;
  /** The warning as a code (issue 19: s23-german-cli). */
  notice?: LaunchWords;
}

/** The environment a Kartei process is started with, from the operator's (KARTEI_ALLOCATOR). */
export function launchPlan(env: NodeJS.ProcessEnv = process.env, exists = fs.existsSync): LaunchPlan {
  const requested = env.KARTEI_ALLOCATOR || DEFAULT_ALLOCATOR;
  let allocator = (ALLOCATORS as readonly string[]).includes(requested) ? (requested as Allocator) : DEFAULT_ALLOCATOR;
  let warning: string | undefined;
  let notice: LaunchWords | undefined;
  if (allocator !== requested) {
    warning = `KARTEI_ALLOCATOR=${requested} names no allocator (${ALLOCATORS.join(', ')}); using ${allocator}`;
    notice = { code: 'allocator-unknown', params: { requested, allocators: ALLOCATORS.join(', '), allocator } };
  }
  if (allocator === 'jemalloc' && !exists(JEMALLOC_LIBRARY)) {
    allocator = DEFAULT_ALLOCATOR;
    warning = `KARTEI_ALLOCATOR=jemalloc, but ${JEMALLOC_LIBRARY} is absent (Debian: apt install libjemalloc2); using ${allocator}`;
    notice = { code: 'jemalloc-absent', params: { library: JEMALLOC_LIBRARY, allocator } };
  }
  const set: Record<string, string> = {};
  // The operator's own value of either variable is kept.
  if (allocator === 'tuned') for (const [k, v] of Object.entries(TUNED)) if (env[k] === undefined) set[k] = v;
  if (allocator === 'jemalloc') {
    set.LD_PRELOAD = env.LD_PRELOAD ? `${JEMALLOC_LIBRARY}:${env.LD_PRELOAD}` : JEMALLOC_LIBRARY;
    set.MALLOC_CONF = env.MALLOC_CONF ? `${JEMALLOC_CONF},${env.MALLOC_CONF}` : JEMALLOC_CONF;
  }
  const restore = Object.fromEntries(Object.keys(set).map((k) => [k, env[k] ?? null]));
  const launched: Launched = { allocator, restore };
  return {
    allocator,
    env: { ...env, ...set, [LAUNCHED]: JSON.stringify(launched) },
    ...(warning ? { warning, notice } : {}),
  };
}

/** What this process was started with, read once, before the start's variables are taken out again. */
const started: Launched | null = ((): Launched | null => {
  const value = process.env[LAUNCHED];
  if (!value) return null;
  try {
    const launched = JSON.parse(value) as Launched;
    delete process.env[LAUNCHED];
    for (const [k, before] of Object.entries(launched.restore)) {
      if (before === null) delete process.env[k];
      else process.env[k] = before;
    }
    return launched;
  } catch {
    return null;
  }
})();

/**
 * Re-executes this process under the production start, unless it runs under it already.
 * Returns only when it does (or where the platform cannot exec: then `launchState` says so).
 */
export function launch(say: (words: LaunchWords, english: string) => string = (_, english) => english): void {
  // A worker thread (audit verify's, the WAL checkpointer's) runs in its process's start already; execve throws there.
  if (started || !isMainThread || typeof process.execve !== 'function') return;
  const plan = launchPlan();
  if (plan.warning && plan.notice) process.stderr.write(`kartei: ${say(plan.notice, plan.warning)}\n`);
  const argv = [process.execPath, ...V8_FLAGS, ...process.execArgv, ...process.argv.slice(1)];
  try {
    process.execve(process.execPath, argv, plan.env);
  } catch (e) {
    // Runs on as it is; the doctor reports the allocator as not applied.
    const english = `cannot apply the production start (${(e as Error).message}); running without it`;
    process.stderr.write(
      `kartei: ${say({ code: 'start-not-applied', params: { reason: (e as Error).message } }, english)}\n`,
    );
  }
}

export interface LaunchState {
  /** The allocator the start applied; null when the process did not come through it. */
  allocator: Allocator | null;
  /** Whether the process shows it: jemalloc mapped, glibc's tunables in its start environment. */
  inEffect: boolean;
  /** One line for the log and the doctor. */
  summary: string;
  /** The summary as a code (issue 19: s23-german-cli). */
  said?: LaunchWords;
}

/**
 * The start's V8 flags as this process runs with them: V8 takes the last of a flag given twice, and
 * the start puts its own before the operator's on node's command line (`node
 * --heap-growing-percent=50 bin/kartei.js serve`), so a flag the operator set there again is named
 * with the operator's value. V8 reads `_` in a flag's name as `-`; node takes these flags only as
 * `--flag=value`. Flags the start does not set are not named.
 */
export function v8FlagsInEffect(execArgv: readonly string[]): string[] {
  const name = (flag: string) => flag.split('=')[0]!.replaceAll('_', '-');
  return V8_FLAGS.flatMap((flag) => execArgv.filter((a) => name(a) === name(flag)).slice(-1));
}

/** The allocator this process runs with, checked against /proc/self, and the start's V8 flags as in effect. */
export function launchState(): LaunchState {
  const state = allocatorState();
  const v8 = v8FlagsInEffect(process.execArgv);
  if (v8.length === 0) return state;
  const said = state.said && { ...state.said, params: { ...state.said.params, v8: v8.join(' ') } };
  return { ...state, summary: `${state.summary}; V8 ${v8.join(' ')}`, ...(said ? { said } : {}) };
}

function allocatorState(): LaunchState {
  if (!started)
    return {
      allocator: null,
      inEffect: false,
      summary: 'not started through the production start (bin/kartei.js): glibc malloc with its defaults',
      said: { code: 'not-launched', params: {} },
    };
  const procText = (file: string) => {
    try {
      return fs.readFileSync(`/proc/self/${file}`, 'utf8');
    } catch {
      return '';
    }
  };
  if (started.allocator === 'jemalloc') {
    const inEffect = procText('maps').includes('libjemalloc');
    return {
      allocator: 'jemalloc',
      inEffect,
      summary: inEffect ? `jemalloc (${JEMALLOC_LIBRARY}, ${JEMALLOC_CONF})` : 'jemalloc requested, but not mapped',
      said: inEffect
        ? { code: 'jemalloc', params: { library: JEMALLOC_LIBRARY, conf: JEMALLOC_CONF } }
        : { code: 'jemalloc-not-mapped', params: {} },
    };
  }
  if (started.allocator === 'tuned') {
    const environ = procText('environ').split('\0');
    const values = Object.keys(TUNED).map((k) => environ.find((v) => v.startsWith(`${k}=`)));
    // glibc applies GLIBC_TUNABLES over the MALLOC_*_ variables, whatever their order; and it cuts the
    // variable up in place, so only its first entry can be read here: any of it set, and tuned is not what runs.
    const tunables = process.env.GLIBC_TUNABLES;
    const inEffect = values.every((v) => v !== undefined) && !tunables;
    return {
      allocator: 'tuned',
      inEffect,
      summary: tunables
        ? `tuned glibc malloc requested, but the operator's GLIBC_TUNABLES (${tunables.slice(0, 80)}…) is set, which glibc applies over it (use KARTEI_ALLOCATOR=system to run with your own tunables)`
        : inEffect
          ? `tuned glibc malloc (${values.join(', ')})`
          : 'tuned glibc malloc requested, but not in the start environment',
      said: tunables
        ? { code: 'tuned-overridden', params: { tunables: tunables.slice(0, 80) } }
        : inEffect
          ? { code: 'tuned', params: { values: values.join(', ') } }
          : { code: 'tuned-missing', params: {} },
    };
  }
  return {
    allocator: 'system',
    inEffect: true,
    summary: 'system (the environment as given; KARTEI_ALLOCATOR=system)',
    said: { code: 'system', params: {} },
  };
}

/**
 * The doctor's word on the allocator: a finding where the operator's choice cannot take
 * effect (an unknown name, jemalloc absent) or the process did not come through the start.
 */
export function allocatorFindings(state = launchState(), plan = launchPlan()): Finding[] {
  const fix =
    'Start Kartei through bin/kartei.js (npm start, or node_modules/.bin/node bin/kartei.js serve) with KARTEI_ALLOCATOR unset (tuned), or tuned, jemalloc (apt install libjemalloc2) or system.';
  if (plan.warning)
    return [
      { severity: 'low', code: 'allocator-not-applied', params: { reason: plan.warning }, title: plan.warning, fix },
    ];
  if (!state.inEffect)
    return [
      {
        severity: 'low',
        code: 'allocator-not-applied',
        params: { reason: state.summary },
        title: `The memory allocator is not the production start's: ${state.summary}`,
        fix,
      },
    ];
  return [];
}
