// A letter as PDF/A-2b (issue 17): the PDF/A identification in the XMP metadata (part 2, conformance B), the
// sRGB output intent, the structure tree, embedded DejaVu fonts with every German letter, no encryption; and,
// where Debian's qpdf is installed, its structural check passes (scripts/test-prerequisites.sh installs it before `npm test`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { letterPdf } from '../../src/desk/letter-pdf.ts';
import { pdfText } from '../helpers/pdf-text.ts';

const letter = {
  title: 'Anordnung der Absonderung',
  letterhead: {
    officeName: 'Gesundheitsamt Großstadt',
    addressLines: ['Äußere Straße 1', '12345 Großstadt'],
    phone: '0123 4567',
  },
  senderLine: 'Gesundheitsamt Großstadt · Äußere Straße 1 · 12345 Großstadt',
  recipient: ['Jürgen Müller-Lüdenscheidt', 'Öhringer Weg 3', '54321 Übach'],
  date: '04.12.2026',
  reference: 'INF-2026-0815',
  subject: 'Anordnung der Absonderung nach § 30 IfSG',
  body: 'Sehr geehrter Herr Müller-Lüdenscheidt,\n\nÄÖÜ äöü ß „Anführung“ – €.\n\n'.concat(
    'Langer Absatz. '.repeat(400),
  ),
  signature: 'Im Auftrag\nDr. Erika Amtsärztin',
};

test('a letter is PDF/A-2b with embedded fonts, tagged, unencrypted, and reads back in German', async () => {
  const pdf = await letterPdf(letter, { compress: false });
  const raw = pdf.toString('latin1');
  assert.equal(raw.slice(0, 8), '%PDF-1.7');
  assert.match(raw, /<pdfaid:part>2<\/pdfaid:part>/);
  assert.match(raw, /<pdfaid:conformance>B<\/pdfaid:conformance>/);
  assert.match(raw, /\/OutputIntents/);
  assert.match(raw, /\/GTS_PDFA1/);
  assert.match(raw, /\/StructTreeRoot/);
  assert.match(raw, /\/Marked true/);
  assert.ok((raw.match(/\/FontFile2/g) ?? []).length >= 2, 'both DejaVu faces embedded');
  assert.doesNotMatch(raw, /\/BaseFont \/Helvetica/);
  assert.doesNotMatch(raw, /\/Encrypt/);
  assert.ok((raw.match(/\/Type \/Page\b/g) ?? []).length >= 2, 'a long body flows onto a second page');
  const text = pdfText(pdf).join('\n');
  for (const s of [
    'Jürgen Müller-Lüdenscheidt',
    'Datum: 04.12.2026',
    'ÄÖÜ äöü ß „Anführung“ – €',
    'Dr. Erika Amtsärztin',
  ])
    assert.ok(text.includes(s), s);
});

test('qpdf finds no structural error in a letter', {
  skip: !existsSync('/usr/bin/qpdf') && 'qpdf is not installed',
}, async () => {
  // qpdf reads files only: a made-up letter (nobody's data) in a temporary directory, removed afterwards.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kartei-letter-'));
  try {
    const file = path.join(dir, 'letter.pdf');
    writeFileSync(file, await letterPdf(letter));
    const out = execFileSync('/usr/bin/qpdf', ['--check', file]).toString();
    assert.match(out, /No syntax or stream encoding errors/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
