#!/usr/bin/env node
// The `kartei` command. Sources are TypeScript, run by Node's own type stripping
// (no loader, no build step). The runtime is the Node.js LTS that `npm ci` puts in
// node_modules (the `node` package): npm scripts run it first on the PATH, and when
// this file is started by an older Node (e.g. the machine's), it hands over to that one.
// On that runtime it re-executes itself once with the allocator settings of the
// production start (src/ops/launch.ts: KARTEI_ALLOCATOR=tuned|jemalloc|system), which
// must be in place before the process's first allocation.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

if (!process.features.typescript) {
  const bundled = fileURLToPath(new URL('../node_modules/node/bin/node', import.meta.url));
  if (!fs.existsSync(bundled) || process.env.KARTEI_REEXEC) {
    process.stderr.write(
      `kartei: Node.js ${process.versions.node} kann Kartei nicht ausführen; \`npm ci\` installiert die unterstützte Laufzeit (node_modules/.bin/node).\n` +
        `kartei: Node.js ${process.versions.node} cannot run Kartei; \`npm ci\` installs the supported runtime (node_modules/.bin/node).\n`,
    );
    process.exit(1);
  }
  const child = spawn(bundled, [...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, KARTEI_REEXEC: '1' },
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => {
    if (signal) {
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    } else process.exit(code ?? 1);
  });
} else {
  // Issue 19: s23-german-cli — the start's warnings in the operator's language (src/cli/launch-words.ts).
  const { launchWordsFromEnv } = await import('../src/cli/launch-words.ts');
  (await import('../src/ops/launch.ts')).launch(launchWordsFromEnv());
  // s24-review: an error without a refusal is said without what it read (src/cli/unexpected-error.ts).
  const { sayUncaughtErrors, unexpectedErrorText } = await import('../src/cli/unexpected-error.ts');
  sayUncaughtErrors();
  const { main } = await import('../src/cli/main.ts');
  try {
    process.exitCode = await main(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(unexpectedErrorText(e));
    process.exitCode = 1;
  }
}
