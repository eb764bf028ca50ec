// Runs after `npm ci` (postinstall, on the runtime npm scripts put first on the PATH):
// checks that the Node.js LTS the `node` package brought is there and that the native
// modules load on it. better-sqlite3 (13, Node-API), @node-rs/argon2 and sharp ship
// Node-API builds, which load on any runtime, whichever Node ran npm itself; nothing is
// compiled and nothing is downloaded beyond the npm registry. A failure stops `npm ci`
// here, with the reason, instead of at the server's first start.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const runtime = path.join(root, 'node_modules', 'node', 'bin', 'node');
const probes: Record<string, string> = {
  'better-sqlite3': "new (require('better-sqlite3'))(':memory:').prepare('select 1').get()",
  '@node-rs/argon2': "require('@node-rs/argon2').hashSync('x', { memoryCost: 1024, timeCost: 1 })",
  sharp: "require('sharp')",
};

if (!fs.existsSync(runtime)) {
  process.stderr.write(
    'native-modules: node_modules/node/bin/node fehlt / is missing: `npm ci` installs the runtime package `node`.\n',
  );
  process.exit(1);
}
const version = spawnSync(runtime, ['-p', 'process.versions.node'], { encoding: 'utf8' }).stdout.trim();
for (const [name, probe] of Object.entries(probes)) {
  const result = spawnSync(runtime, ['-e', probe], { cwd: root, encoding: 'utf8' });
  if (result.status !== 0) {
    process.stderr.write(
      `native-modules: ${name} lädt nicht unter / does not load on Node.js ${version}:\n${result.stderr}${result.signal ?? ''}\n`,
    );
    process.exit(1);
  }
}
process.stdout.write(`native-modules: ${Object.keys(probes).join(', ')} laden unter / load on Node.js ${version}\n`);
