// Encryption at rest: someone who copies the data directory (database, WAL,
// shared memory, journal, sealed documents) learns no name, address, birth date, record text,
// reason, login name, display name, password, TOTP secret or session token — nor a task,
// an attachment, a mail-room scan, a generated letter, an imported row or a pending import.
// Every byte of every file is scanned for each distinctive value, in UTF-8
// and UTF-16LE, in any letter case; a control string that is stored in clear
// shows that the scan would find them if they were there.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { koelnerPhonetik } from '../../src/vault/koelner-phonetik.ts';
import { normaliseName } from '../../src/vault/blind-index.ts';
import { randomUUID } from 'node:crypto';
import iconv from 'iconv-lite';
import { Client, DIALECT, setUpTenant, startHarness, totpCode, type Harness, type Tenant } from '../helpers/harness.ts';
import { testDocx, testPdf } from '../helpers/documents.ts';

const skip =
  DIALECT === 'postgres' &&
  "the PostgreSQL data directory belongs to the database server, not to Kartei's data directory";

/** ASCII letters to lower case, byte by byte: the same folding for haystack and needle. */
function fold(buf: Buffer): Buffer {
  const out = Buffer.from(buf);
  for (let i = 0; i < out.length; i++) if (out[i]! >= 0x41 && out[i]! <= 0x5a) out[i]! |= 0x20;
  return out;
}

/** Every encoding of `s` the scan looks for: as written, lower and upper case, composed and decomposed, UTF-8 and UTF-16LE. */
function needles(s: string): Buffer[] {
  const forms = new Set<string>();
  for (const c of [s, s.toLowerCase(), s.toUpperCase()])
    for (const n of ['NFC', 'NFD'] as const) forms.add(c.normalize(n));
  return [...forms].flatMap((f) => [fold(Buffer.from(f, 'utf8')), fold(Buffer.from(f, 'utf16le'))]);
}

function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? filesUnder(p) : e.isFile() ? [p] : [];
  });
}

/** Which of `secrets` occur anywhere in the files under `dir` (file name → secrets found). */
function scan(dir: string, secrets: string[]): { files: string[]; found: Map<string, string[]> } {
  const files = filesUnder(dir);
  const found = new Map<string, string[]>();
  for (const file of files) {
    const hay = fold(fs.readFileSync(file));
    for (const s of secrets) {
      if (needles(s).some((n) => hay.includes(n))) found.set(s, [...(found.get(s) ?? []), path.basename(file)]);
    }
  }
  return { files: files.map((f) => path.basename(f)), found };
}

test('the scanner finds a value in UTF-8 and UTF-16LE, in any case, anywhere in a file', () => {
  const dir = fs.mkdtempSync(path.join(process.env.TMPDIR ?? '/tmp', 'kartei-scan-'));
  try {
    fs.mkdirSync(path.join(dir, 'sub'));
    fs.writeFileSync(
      path.join(dir, 'a.bin'),
      Buffer.concat([Buffer.alloc(5000, 0xab), Buffer.from('xxGRÜNSPAN-MÜLLERxx', 'utf16le')]),
    );
    fs.writeFileSync(path.join(dir, 'sub', 'b.bin'), Buffer.from('...o\u0308lbaum...', 'utf8')); // decomposed ö
    const r = scan(dir, ['Grünspan-Müller', 'Ölbaum', 'Nirgends']);
    assert.deepEqual(r.found.get('Grünspan-Müller'), ['a.bin']);
    assert.deepEqual(r.found.get('Ölbaum'), ['b.bin']);
    assert.equal(r.found.has('Nirgends'), false);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

let h: Harness;
let t: Tenant;
let closed = false;
/** Everything that must never be readable from the data directory. */
const secrets: string[] = [];

const person = {
  familyName: 'Przybillakowski',
  givenName: 'Wunibald',
  birthDate: '1937-02-28',
  sex: 'male',
  address: { street: 'Xylophonweg 77', postalCode: '98765', city: 'Zwergenhausen' },
};
const renamed = 'Schwarzkopfhuber';
const staff = {
  username: 'wuselmaus',
  displayName: 'Walburga Froschkoenig',
  password: 'Gurkenhobel-Saxophon-Mondkalb-91',
};

before(async () => {
  if (skip) return;
  h = await startHarness();
  t = await setUpTenant(h);
  const { INF, TB } = t.departments as Record<string, string>;
  const clerk = await t.user({ memberships: [{ departmentId: INF!, role: 'physician' }] });
  const head = await t.user({ memberships: [{ departmentId: INF!, role: 'head' }] });
  const ok = (status: number) => (r: { status: number; body: any }) => {
    assert.equal(r.status, status, JSON.stringify(r.body));
    return r.body;
  };

  const { id: pid } = ok(201)(await clerk.post('/api/persons', { departmentId: INF, ...person }));
  ok(200)(await clerk.patch(`/api/persons/${pid}`, { familyName: renamed, version: 1 }));
  const { id: rid } = ok(201)(
    await clerk.post(`/api/persons/${pid}/records`, {
      type: 'note',
      sensitivity: 'restricted',
      content: { text: 'Verdacht auf Xerophthalmie beim Zwetschgenbauer' },
    }),
  );
  ok(200)(
    await clerk.put(`/api/records/${rid}`, {
      content: { text: 'Kontrolle: Keratomalazie ausgeschlossen' },
      version: 1,
    }),
  );
  const { id: gone } = ok(201)(
    await clerk.post(`/api/persons/${pid}/records`, {
      type: 'note',
      sensitivity: 'normal',
      content: { text: 'Hausbesuch Bernsteinzimmer' },
    }),
  );
  ok(204)(await clerk.del(`/api/records/${gone}`, { reason: 'Irrtuemlich beim Nachbarn Grottenolm angelegt' }));
  ok(201)(
    await head.post(`/api/persons/${pid}/shares`, {
      departmentId: TB,
      purpose: 'Umgebungsuntersuchung Flamingostrasse',
      until: new Date(Date.now() + 86_400_000).toISOString(),
    }),
  );

  // A member of staff with a distinctive name and password logs in by hand, so its TOTP secret and tokens are known.
  await t.account({ memberships: [{ departmentId: TB!, role: 'clerk' }] }, { ...staff });
  const c = new Client(h);
  const first = ok(200)(await c.post('/api/auth/login', { username: staff.username, password: staff.password }));
  h.clock.now += 30_000;
  const done = ok(200)(
    await c.post('/api/auth/mfa', { challenge: first.challenge, code: totpCode(first.totp.secret, h.clock.now) }),
  );
  c.csrf = done.csrfToken;
  const breakGlass = 'Notfall: Patient bewusstlos aufgefunden, Kumquat-Allergie bekannt';
  ok(200)(await c.post(`/api/persons/${pid}/break-glass`, { reason: breakGlass }));
  // The data really is stored (and readable through the application).
  assert.equal(ok(200)(await c.get(`/api/persons/${pid}`)).address.city, 'Zwergenhausen');

  // Issue 17: the desk — a task, an attachment and a mail-room scan (text in clear inside them, so the scan
  // would find it unsealed), a generated letter, and an import (its rows, and an upload left pending).
  const task = { title: 'Schlehdornbesuch vereinbaren', note: 'Tochter Rapunzelkraut anrufen' };
  ok(201)(await clerk.post(`/api/persons/${pid}/tasks`, { ...task, dueDate: '2027-01-15', type: 'call' }));
  const upload = (url: string, bytes: Buffer, name: string) =>
    clerk.call('POST', url, bytes, {
      'content-type': 'application/octet-stream',
      'x-file-name': encodeURIComponent(name),
    });
  ok(201)(await upload(`/api/persons/${pid}/documents`, testPdf('Befund Wolpertingerhusten'), 'Quastenflosser.pdf'));
  ok(201)(await upload(`/api/persons/${pid}/documents`, testDocx('Zitronenfalterbericht'), 'Ameisenbaer.docx'));
  ok(201)(await upload(`/api/departments/${INF}/mailroom`, testPdf('Antwort Tatzelwurm'), 'Lindwurm-Scan.pdf'));
  ok(200)(await t.admin.post('/api/admin/templates/starters'));
  const usable = ok(200)(await clerk.get(`/api/departments/${INF}/letter-templates`));
  const invitation = (usable.items ?? usable).find((x: { kind: string }) => x.kind === 'invitation');
  assert.ok(invitation, JSON.stringify(usable));
  ok(201)(await clerk.post(`/api/persons/${pid}/letters`, { templateId: invitation.id, requestKey: randomUUID() }));
  const csv = [
    'Nachname;Vorname;Geburtsdatum;Ort',
    'Quappenrieder;Ottokarl;04.12.1961;Mückenhausen',
    'Zaunkönigsberger;Hildeburg;1950-05-03;Dattelsheim',
    '',
  ].join('\r\n');
  const importOf = async (bytes: Buffer) => {
    const r = await head.call('POST', `/api/departments/${INF}/imports`, bytes, { 'content-type': 'text/csv' });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body;
  };
  const job = await importOf(iconv.encode(csv, 'win1252'));
  const mapping = { person: { familyName: 0, givenName: 1, birthDate: 2, city: 3 } };
  const dry = ok(200)(await head.post(`/api/imports/${job.id}/dry-run`, { version: job.version, mapping }));
  ok(202)(await head.post(`/api/imports/${job.id}/start`, { version: dry.version }));
  await h.services.imports.running(job.id);
  assert.equal(ok(200)(await head.get(`/api/imports/${job.id}`)).state, 'done');
  // A second upload stays pending: sealed while it waits for its mapping.
  await importOf(Buffer.from('Nachname;Vorname;Geburtsdatum\r\nKrähenfußler;Wendelgard;01.01.1944\r\n', 'utf8'));

  secrets.push(
    person.familyName,
    person.givenName,
    'Xylophonweg',
    'Zwergenhausen',
    renamed,
    'Xerophthalmie',
    'Zwetschgenbauer',
    'Keratomalazie',
    'Bernsteinzimmer',
    'Grottenolm',
    'Flamingostrasse',
    'Kumquat',
    'bewusstlos aufgefunden',
    staff.username,
    'Walburga',
    'Froschkoenig',
    staff.password,
    'Mondkalb',
    first.totp.secret,
    c.cookie!,
    done.csrfToken,
    first.challenge,
  );
  secrets.push(
    task.title,
    task.note,
    'Wolpertingerhusten',
    'Quastenflosser',
    'Zitronenfalterbericht',
    'Ameisenbaer',
    'Tatzelwurm',
    'Lindwurm-Scan',
    'Quappenrieder',
    'Ottokarl',
    'Mückenhausen',
    'Zaunkönigsberger',
    'Hildeburg',
    'Dattelsheim',
    'Krähenfußler',
    'Wendelgard',
    // No document lies in the data directory as itself: neither a PDF (the letter's glyphs are not its text, so
    // its header is what would show) nor an office document's parts.
    '%PDF-',
    '[Content_Types].xml',
    'word/document.xml',
  );
  // Birth date in the forms a search accepts, and the phonetic codes the blind index is built from.
  secrets.push('1937-02-28', '28.02.1937', '19370228');
  for (const name of [person.familyName, renamed]) {
    for (const word of normaliseName(name).split(' ')) {
      const code = koelnerPhonetik(word);
      // Long codes only: a short digit string turns up by chance in hex identifiers.
      assert.ok(code.length >= 8, `${word} → ${code}`);
      secrets.push(code);
    }
  }
});

after(async () => {
  if (h && !closed) await h.close();
});

const CONTROLS = ['Gesundheitsamt Musterstadt', 'Abteilung SPDI'];

test('nothing personal can be read from the data directory of a running server (database, WAL, shared memory)', {
  skip,
}, () => {
  const r = scan(h.config.dataDir, [...CONTROLS, ...secrets]);
  assert.ok(r.files.includes('kartei.sqlite') && r.files.includes('kartei.sqlite-wal'), r.files.join(', '));
  assert.ok(fs.statSync(path.join(h.config.dataDir, 'kartei.sqlite-wal')).size > 0);
  // The sealed documents were among the files scanned: two attachments, the scan, the letter.
  assert.ok(filesUnder(path.join(h.config.dataDir, 'documents')).length >= 4);
  // Controls: values stored in clear by design are found, so the scan can see.
  for (const c of CONTROLS) assert.ok(r.found.has(c), `control ${c} not found`);
  const leaks = secrets.filter((s) => r.found.has(s)).map((s) => `${s} in ${r.found.get(s)!.join(', ')}`);
  assert.deepEqual(leaks, []);
});

test('nor after a clean shutdown, when the WAL has been folded into the database', { skip }, async () => {
  await h.app.close();
  await h.services.close();
  closed = true;
  try {
    const r = scan(h.config.dataDir, [...CONTROLS, ...secrets]);
    assert.ok(r.files.includes('kartei.sqlite'));
    for (const c of CONTROLS) assert.ok(r.found.has(c), `control ${c} not found`);
    const leaks = secrets.filter((s) => r.found.has(s)).map((s) => `${s} in ${r.found.get(s)!.join(', ')}`);
    assert.deepEqual(leaks, []);
  } finally {
    fs.rmSync(h.dir, { recursive: true, force: true });
  }
});
