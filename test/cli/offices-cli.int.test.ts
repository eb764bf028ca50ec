// `kartei offices` as an operator runs it (issue 19): on an empty deployment the first office may
// go without an address; every later one needs its own; each `add` prints that office's own setup
// link and nothing else on stdout; two `add`s of one name started at once as separate processes:
// one wins, the other says why and leaves nothing; `list` shows names, addresses and whether an
// office is set up, and nothing of its data.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { PG_ADMIN, freshPostgresEnv } from '../helpers/harness.ts';

const BIN = path.resolve(import.meta.dirname, '../../bin/kartei.js');
let dir: string;
let env: Record<string, string>;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-offices-'));
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KARTEI_'))) as Record<
    string,
    string
  >;
  env = {
    ...base,
    KARTEI_LANG: 'en', // the command's English words: this test is about what it does
    KARTEI_DATA_DIR: path.join(dir, 'data'),
    KARTEI_KEY_DIR: path.join(dir, 'keys'),
    KARTEI_LOG_LEVEL: 'silent',
    KARTEI_PUBLIC_URL: 'https://kartei.example:8443',
    ...(PG_ADMIN ? await freshPostgresEnv() : {}),
  };
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function kartei(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return karteiIn(env, args);
}

/** Issue 19: cli-german — `kartei …` with no KARTEI_LANG: German. */
const karteiGerman = (...args: string[]) => karteiIn({ ...env, KARTEI_LANG: '' }, args);

function karteiIn(
  env: Record<string, string>,
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

// The link carries the office's name in the fragment, for the setup wizard to show.
const LINK = /^Setup: (https:\/\/[^/]+)\/setup#token=([A-Za-z0-9_-]{43})&office=(\S+)$/m;
const nameIn = (stdout: string) => decodeURIComponent(LINK.exec(stdout)![3]!);

test('the first office may go without an address, later ones need their own', async () => {
  const empty = await kartei('offices', 'list');
  assert.equal(empty.code, 0, empty.stderr);
  assert.match(empty.stdout, /No offices yet/);
  const first = await kartei('offices', 'add', 'Gesundheitsamt Musterstadt');
  assert.equal(first.code, 0, first.stderr);
  assert.equal(LINK.exec(first.stdout)?.[1], 'https://kartei.example:8443');
  assert.equal(nameIn(first.stdout), 'Gesundheitsamt Musterstadt');
  const second = await kartei('offices', 'add', 'Gesundheitsamt Nachbarkreis');
  assert.equal(second.code, 1);
  assert.match(second.stderr, /--host/);
  const bad = await kartei('offices', 'add', 'Amt', '--host', 'not a host');
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /not a host name/);
});

test('two `offices add` of one name at once, as processes: one wins, one says why', async () => {
  const [x, y] = await Promise.all([
    kartei('offices', 'add', 'Gesundheitsamt Zwilling', '--host', 'zwilling-1.example'),
    kartei('offices', 'add', 'Gesundheitsamt Zwilling', '--host', 'zwilling-2.example'),
  ]);
  const won = [x, y].filter((r) => r.code === 0);
  const lost = [x, y].filter((r) => r.code !== 0);
  assert.equal(won.length, 1, `${x.stderr} ${y.stderr}`);
  assert.match(LINK.exec(won[0]!.stdout)![1]!, /^https:\/\/zwilling-[12]\.example:8443$/);
  assert.match(lost[0]!.stderr, /exists already/);
  assert.equal(lost[0]!.stdout, '', 'no link for the loser');
});

test('the list: names, addresses, waiting for setup; `renew` gives a new link', async () => {
  const list = await kartei('offices', 'list');
  assert.equal(list.code, 0, list.stderr);
  const lines = list.stdout.trim().split('\n');
  assert.equal(lines.length, 2);
  assert.match(lines[0]!, /\(any address\)\s+waiting for setup\s+Gesundheitsamt Musterstadt$/);
  assert.match(lines[1]!, /zwilling-[12]\.example\s+waiting for setup\s+Gesundheitsamt Zwilling$/);
  const renewed = await kartei('offices', 'renew', 'gesundheitsamt zwilling');
  assert.equal(renewed.code, 0, renewed.stderr);
  assert.match(renewed.stdout, LINK);
  // The name as the operator gave it at `add`, however `renew` spelled it.
  assert.equal(nameIn(renewed.stdout), 'Gesundheitsamt Zwilling');
  const unknown = await kartei('offices', 'renew', 'Gibt es nicht');
  assert.equal(unknown.code, 1);
});

test('German without KARTEI_LANG: the list, the link and the refusals', async () => {
  const list = await karteiGerman('offices', 'list');
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /\(jede Adresse\)\s+wartet auf Einrichtung\s+Gesundheitsamt Musterstadt$/m);
  const added = await karteiGerman('offices', 'add', 'Gesundheitsamt Drittkreis', '--host', 'dritt.example');
  assert.equal(added.code, 0, added.stderr);
  assert.match(added.stdout, /^Amt „Gesundheitsamt Drittkreis“ angelegt \(ID [0-9a-f-]+, Adresse dritt\.example\)$/m);
  // The setup link's line has the core contract's words in every language (as `kartei serve` prints it).
  assert.match(added.stdout, /^Setup: https:\/\/dritt\.example:8443\/setup#token=/m);
  const bad = await karteiGerman('offices', 'add', 'Amt', '--host', 'not a host');
  assert.equal(bad.code, 1);
  assert.equal(bad.stderr, 'kartei: Kein Rechnername: not a host\n');
  const taken = await karteiGerman('offices', 'add', 'gesundheitsamt drittkreis', '--host', 'viert.example');
  assert.equal(taken.stderr, 'kartei: Ein Amt mit dem Namen „gesundheitsamt drittkreis“ gibt es schon.\n');
  const usage = await karteiGerman('offices', 'frobnicate');
  assert.match(usage.stderr, /^kartei: Aufruf:\n {2}offices add NAME/);
});
