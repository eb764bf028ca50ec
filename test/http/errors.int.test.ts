// The error catalogue is documented: docs/errors.md has one row per code in
// ERROR_CATALOGUE with its status and title, and lists no code that does not
// exist; the server's problem documents match what the page says. The field codes
// (FIELD_CODES) have their own table, and the web application words every error
// code, field code and security finding in German and in English.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { ERROR_CATALOGUE, FIELD_CODES, problemType, type ErrorCode } from '../../src/errors.ts';
import { FINDING_CODES } from '../../src/ops/security-findings.ts';
import { de } from '../../web/src/i18n/de.ts';
import { en } from '../../web/src/i18n/en.ts';
import { startHarness, Client, type Harness } from '../helpers/harness.ts';

const DOC = new URL('../../docs/errors.md', import.meta.url);

interface Row {
  code: string;
  status: number;
  title: string;
  when: string;
}

/** The rows of the error table; any table row that does not parse fails the test. */
function documentedCodes(): Row[] {
  const rows: Row[] = [];
  for (const line of errorSection().split('\n')) {
    if (!line.startsWith('|') || /^\|\s*code\s*\|/.test(line) || /^\|[-| :]+\|$/.test(line)) continue;
    const m = /^\|\s*`([^`]+)`\s*\|\s*(\d{3})\s*\|\s*([^|]+?)\s*\|\s*([^|]+?)\s*\|$/.exec(line);
    assert.ok(m, `unparseable table row in docs/errors.md: ${line}`);
    rows.push({ code: m[1]!, status: Number(m[2]), title: m[3]!, when: m[4]! });
  }
  return rows;
}

const FIELD_HEADING = '## Field codes';
const errorSection = () => fs.readFileSync(DOC, 'utf8').split(FIELD_HEADING)[0]!;

/** The field codes of the table under "Field codes". */
function documentedFieldCodes(): string[] {
  const parts = fs.readFileSync(DOC, 'utf8').split(FIELD_HEADING);
  assert.equal(parts.length, 2, 'docs/errors.md has one "Field codes" section');
  const codes: string[] = [];
  for (const line of parts[1]!.split('\n')) {
    if (!line.startsWith('|') || /^\|\s*field code\s*\|/.test(line) || /^\|[-| :]+\|$/.test(line)) continue;
    const m = /^\|\s*`([a-z0-9-]+)`\s*\|\s*([^|]+?)\s*\|\s*([^|]+?)\s*\|$/.exec(line);
    assert.ok(m, `unparseable field code row: ${line}`);
    assert.ok(m[3]!.split(/\s+/).length >= 4, `${m[1]}: say when it happens`);
    codes.push(m[1]!);
  }
  return codes;
}

test('docs/errors.md lists every field code the server can send, once, and no other', () => {
  const documented = documentedFieldCodes();
  assert.equal(new Set(documented).size, documented.length, 'each field code once');
  assert.deepEqual([...documented].sort(), [...FIELD_CODES].sort());
});

test('the web application words every error code, field code and finding in German and English', () => {
  for (const [lang, dict] of [
    ['de', de],
    ['en', en],
  ] as const) {
    const has = (key: string) =>
      typeof (dict as Record<string, string>)[key] === 'string' && (dict as Record<string, string>)[key]!.length > 0;
    for (const code of Object.keys(ERROR_CATALOGUE)) assert.ok(has(`error.${code}`), `${lang}: error.${code}`);
    for (const code of FIELD_CODES) assert.ok(has(`problem.field.${code}`), `${lang}: problem.field.${code}`);
    for (const code of FINDING_CODES) {
      assert.ok(has(`finding.${code}.title`), `${lang}: finding.${code}.title`);
      assert.ok(has(`finding.${code}.fix`), `${lang}: finding.${code}.fix`);
    }
  }
});

test('docs/errors.md has one row per catalogue code, with its status and title', () => {
  const rows = documentedCodes();
  for (const [code, { status, title }] of Object.entries(ERROR_CATALOGUE)) {
    const mine = rows.filter((r) => r.code === code);
    assert.equal(mine.length, 1, `${code} appears ${mine.length} times in docs/errors.md`);
    assert.equal(mine[0]!.status, status, `${code}: documented status`);
    assert.equal(mine[0]!.title, title, `${code}: documented title`);
    assert.ok(mine[0]!.when.split(/\s+/).length >= 4, `${code}: say when it happens`);
  }
});

test('docs/errors.md lists no code that does not exist', () => {
  const rows = documentedCodes();
  assert.ok(rows.length > 0, 'no table found');
  for (const r of rows)
    assert.ok(Object.hasOwn(ERROR_CATALOGUE, r.code), `docs/errors.md documents unknown code ${r.code}`);
  // And the table is in status order, so a reader finds a status where they expect it.
  const statuses = rows.map((r) => r.status);
  assert.deepEqual(
    statuses,
    [...statuses].sort((a, b) => a - b),
  );
});

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h.close());

test('the problem documents the server sends agree with the page', async () => {
  const doc = new Map(documentedCodes().map((r) => [r.code, r]));
  const anon = new Client(h);
  const sent = [
    await anon.get('/api/me'),
    await anon.get('/api/no-such-route'),
    await anon.call('POST', '/api/auth/login', '{"username":', { 'content-type': 'application/json' }),
    await anon.call('POST', '/api/auth/login', 'x', { 'content-type': 'text/plain' }),
    await anon.post('/api/auth/login', { username: 'x', password: 'y', extra: true }),
    await anon.post('/api/auth/login', { username: 'nobody', password: 'not-the-password' }),
    await anon.post('/api/setup', {
      token: 'wrong',
      tenant: { name: 'Amt' },
      admin: { username: 'admin', password: 'x'.repeat(20), displayName: 'A' },
    }),
  ];
  const codes = new Set<string>();
  for (const r of sent) {
    const code = r.body.code as ErrorCode;
    const row = doc.get(code);
    assert.ok(row, `server sent undocumented code ${code}`);
    assert.equal(r.status, row.status, code);
    assert.equal(r.body.status, row.status, code);
    assert.equal(r.body.title, row.title, code);
    assert.equal(r.body.type, problemType(code), code);
    codes.add(code);
  }
  assert.deepEqual([...codes].sort(), [
    'invalid-credentials',
    'invalid-setup-token',
    'malformed-json',
    'not-found',
    'unauthenticated',
    'unsupported-media-type',
    'validation-failed',
  ]);
});
