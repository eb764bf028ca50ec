// What the server logs when a bulk letter run stops on an error (src/server.ts wires the runner's `onError`):
// the run's id and the error's code only — never its message or stack, which may carry a value of a file.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { KarteiError } from '../../src/errors.ts';
import { startHarness, type Harness } from '../helpers/harness.ts';

let h: Harness;
const logLines: string[] = [];

before(async () => {
  const capture = new Writable({
    write(chunk, _enc, done) {
      logLines.push(String(chunk));
      done();
    },
  });
  h = await startHarness({ env: { KARTEI_LOG_LEVEL: 'debug' }, logger: true, logDestination: capture });
});
after(() => h.close());

test('a letter run stopped by an error logs its id and the code, not the message or stack', () => {
  const runId = randomUUID();
  const plain = new Error('Briefgeheim Müller, Anna');
  h.services.letterRunner.onError(plain, runId);
  h.services.letterRunner.onError(new KarteiError('conflict', 'Briefvorlage Schulz'), runId);
  const lines = logLines.filter((l) => l.includes('letter run stopped'));
  assert.equal(lines.length, 2);
  for (const l of lines) {
    assert.ok(l.includes(runId), l);
    for (const secret of ['Briefgeheim', 'Müller', 'Briefvorlage', 'Schulz', 'stack', '    at '])
      assert.ok(!l.includes(secret), `${secret} in ${l}`);
  }
  assert.ok(lines[1]!.includes('"code":"conflict"'), lines[1]);
});
