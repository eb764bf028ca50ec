// The refusals an operator commonly meets carry a code (src/config/refusal.ts), and `kartei` says
// each in German (src/cli/refusals.ts): every code made in src has German text naming only the
// parameters it is given, and an error without a known code keeps its own message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { REFUSALS_DE, refusalText } from '../../src/cli/refusals.ts';
import { setCliLang } from '../../src/cli/messages.ts';
import { ConfigError, checkStartable, loadConfig } from '../../src/config/config.ts';
import { refusal } from '../../src/config/refusal.ts';
import { AUDIT_PROBLEMS_DE, auditProblemText } from '../../src/cli/audit-problems.ts';

const SRC = path.resolve(import.meta.dirname, '../../src');

/** Every `refusal('code'` (or a code in a table beside it) in the sources, with the file it is in. */
function codesInSources(): Map<string, string> {
  const found = new Map<string, string>();
  for (const f of fs.readdirSync(SRC, { recursive: true, encoding: 'utf8' })) {
    if (!f.endsWith('.ts')) continue;
    const text = fs.readFileSync(path.join(SRC, f), 'utf8');
    for (const m of text.matchAll(/refusal\(\s*'([a-z0-9-]+)'/g)) found.set(m[1]!, f);
    for (const m of text.matchAll(/'(backup-dest-in-[a-z-]+|keys-backup-in-data-backup|data-backup-in-keys-backup)'/g))
      found.set(m[1]!, f);
  }
  return found;
}

test('every refusal code made in src has its German text', () => {
  const codes = codesInSources();
  assert.ok(codes.size >= 30, `only ${codes.size} codes found`);
  for (const [code, file] of codes) assert.ok(REFUSALS_DE[code], `${code} (${file}) has no German text`);
  // And no German text for a code nobody makes.
  for (const code of Object.keys(REFUSALS_DE)) assert.ok(codes.has(code), `${code}: made nowhere`);
});

test('a refusal is said in German from its code, in English as its message; without a code as its message', () => {
  const config = loadConfig({ KARTEI_LISTEN: '0.0.0.0:8443', KARTEI_DATA_DIR: '/srv/kartei/data' });
  let refused: ConfigError | undefined;
  try {
    checkStartable(config);
  } catch (e) {
    refused = e as ConfigError;
  }
  assert.ok(refused instanceof ConfigError);
  try {
    setCliLang('de');
    assert.equal(
      refusalText(refused),
      'Der Server lauscht nicht auf 0.0.0.0: jenseits von 127.0.0.1 braucht er TLS (KARTEI_TLS_CERT und KARTEI_TLS_KEY setzen oder auf 127.0.0.1 lauschen).',
    );
    assert.equal(refusalText(new ConfigError('something else')), 'something else');
    assert.equal(refusalText(new ConfigError('unknown code', refusal('no-such-code'))), 'unknown code');
    setCliLang('en');
    assert.equal(refusalText(refused), refused.message);
    assert.match(refused.message, /^Refusing to listen on 0\.0\.0\.0/);
  } finally {
    setCliLang('de');
  }
});

// Issue 19: s23-german-cli — `kartei audit verify` says a broken chain's problem in German
// (src/cli/audit-problems.ts); the verifier's problem strings themselves stay English.
test('every problem the audit verifier names has its German text, and no German text names a problem nobody makes', () => {
  const problems = new Map<string, string>();
  const dir = path.join(SRC, 'audit');
  for (const f of fs.readdirSync(dir).filter((n) => /^verify.*\.ts$/.test(n))) {
    const text = fs.readFileSync(path.join(dir, f), 'utf8');
    for (const m of text.matchAll(/\b(?:note|fail)\([^;]*?,\s*'([^']+)'\s*\)/g)) problems.set(m[1]!, f);
    for (const m of text.matchAll(/\bproblem: '([^']+)'/g)) problems.set(m[1]!, f);
  }
  assert.ok(problems.size >= 15, `only ${problems.size} problems found: ${[...problems.keys()].join('; ')}`);
  for (const [problem, file] of problems)
    assert.ok(AUDIT_PROBLEMS_DE[problem], `"${problem}" (${file}) has no German text`);
  for (const problem of Object.keys(AUDIT_PROBLEMS_DE)) assert.ok(problems.has(problem), `"${problem}": named nowhere`);
  try {
    setCliLang('de');
    assert.equal(auditProblemText('event missing'), 'ein Ereignis fehlt');
    assert.equal(auditProblemText('something new'), 'something new');
    setCliLang('en');
    assert.equal(auditProblemText('event missing'), 'event missing');
  } finally {
    setCliLang('de');
  }
});

// Issue 19: s23-german-cli — a refusal made without a code would be said in English again.
test('every refusal an operator meets on the command line is made with a code (ConfigError, KeyFileError, …, RotationError)', () => {
  const without: string[] = [];
  let made = 0;
  for (const f of fs.readdirSync(SRC, { recursive: true, encoding: 'utf8' })) {
    if (!f.endsWith('.ts')) continue;
    const text = fs.readFileSync(path.join(SRC, f), 'utf8');
    for (const m of text.matchAll(
      /new (ConfigError|KeyFileError|OfficeError|ManifestError|ReencryptError|RotationError)\(/g,
    )) {
      // The call's arguments, to its closing parenthesis.
      let i = m.index + m[0].length;
      for (let depth = 1; depth > 0 && i < text.length; i++) depth += text[i] === '(' ? 1 : text[i] === ')' ? -1 : 0;
      const call = text.slice(m.index, i);
      made++;
      // s25: unreadableSetting(…) is a message and a refusal whose codes are literal in src/config/setting-file.ts.
      if (!/\brefusal\(|\b[A-Z_]+_REFUSAL\b|\.\.\.unreadableSetting\(/.test(call))
        without.push(`${f}:${text.slice(0, m.index).split('\n').length}`);
    }
  }
  assert.ok(made >= 100, `only ${made} refusals found`);
  assert.deepEqual(without, [], 'made without a refusal code');
});
