// Starting the server prints no deprecation warning (Fastify's FSTDEP022 was one,
// from router options given at the top level): what `npm start` shows an
// operator is the setup line and the log, nothing to worry about.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness } from '../helpers/harness.ts';

test('building and starting the application emits no deprecation warning', async () => {
  const warnings: string[] = [];
  const listener = (w: Error & { code?: string }) => void warnings.push(`${w.name} ${w.code ?? ''}: ${w.message}`);
  process.on('warning', listener);
  const h = await startHarness();
  try {
    await h.app.ready();
    // process.emitWarning reports on the next tick.
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(
      warnings.filter((w) => /Deprecation|FSTDEP|FastifyWarning/.test(w)),
      [],
    );
  } finally {
    process.off('warning', listener);
    await h.close();
  }
});
