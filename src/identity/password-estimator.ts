// The server's strength estimator, held only while passwords are being set:
// its dictionaries take ~60 MB once loaded and ~70 MB more once built, and
// passwords are set rarely. They are loaded with require, not import (whose
// modules stay for good), and after a while unused they are dropped from
// require's cache with everything built from them, so the memory is given back.
import { createRequire } from 'node:module';
import {
  estimatorOf,
  strengthWith,
  type Estimator,
  type EstimatorModules,
  type Strength,
} from './password-strength.ts';

/** How long the estimator is kept after its last use; building it again takes ~0.5 s. */
export const ESTIMATOR_IDLE_MS = 5 * 60_000;
const PACKAGES = '/node_modules/@zxcvbn-ts/';

let estimator: Estimator | undefined;
let release: ReturnType<typeof setTimeout> | undefined;
/** The modules the last load put into require's cache: the packages and what they require (fastest-levenshtein). */
let loadedIds: string[] = [];

function load(): Estimator {
  // A require of its own per load: the modules it loads are its children, dropped with it.
  const require = createRequire(import.meta.url);
  const before = new Set(Object.keys(require.cache));
  const modules: EstimatorModules = {
    core: require('@zxcvbn-ts/core'),
    common: require('@zxcvbn-ts/language-common'),
    en: require('@zxcvbn-ts/language-en'),
    de: require('@zxcvbn-ts/language-de'),
  };
  loadedIds = Object.keys(require.cache).filter((id) => !before.has(id));
  return estimatorOf(modules);
}

/**
 * require's cache, and the ids of the estimator's modules in it: every module its load added. One
 * left behind keeps them all (a module holds its first parent, and that parent its children: before
 * 07.12.2026 fastest-levenshtein stayed, and with it ~40 MB of dictionaries for good).
 */
function cached() {
  const cache = createRequire(import.meta.url).cache;
  return { cache, ids: Object.keys(cache).filter((id) => id.includes(PACKAGES) || loadedIds.includes(id)) };
}

function unload() {
  estimator = undefined;
  const { cache, ids } = cached();
  for (const id of ids) delete cache[id];
  loadedIds = [];
}

function held(): Estimator {
  estimator ??= load();
  clearTimeout(release);
  release = setTimeout(unload, ESTIMATOR_IDLE_MS);
  release.unref();
  return estimator;
}

/**
 * Lets go of the dictionaries now rather than after ESTIMATOR_IDLE_MS (benchmarks: a server measured
 * seconds after its accounts were set up would otherwise carry them, and mark them in every full GC).
 */
export function releaseEstimator(): void {
  clearTimeout(release);
  unload();
}

/** Whether the dictionaries are loaded now: held by the estimator or by require's cache. */
export const estimatorLoaded = () => estimator !== undefined || cached().ids.length > 0;

export const passwordStrength = (password: string, context: string[]): Strength =>
  strengthWith(held, password, context);
