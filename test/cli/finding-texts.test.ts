// The security report's words, one home for the web application and `kartei doctor`
// (src/contract/finding-texts.ts): every finding code has a German and an English title and remedy,
// the two name the same parameters, and the command writes dates, moments and counts as its language does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FINDING_TEXTS_DE, FINDING_TEXTS_EN, wordFinding } from '../../src/contract/finding-texts.ts';
import { FINDING_CODES } from '../../src/ops/security-findings.ts';
import { findingWording, setCliLang } from '../../src/cli/messages.ts';

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

test('every finding code has a German and an English title and remedy', () => {
  for (const [lang, texts] of [
    ['de', FINDING_TEXTS_DE],
    ['en', FINDING_TEXTS_EN],
  ] as const) {
    const dict = texts as Record<string, string>;
    for (const code of FINDING_CODES)
      for (const part of ['title', 'fix']) {
        const text = dict[`finding.${code}.${part}`];
        assert.ok(typeof text === 'string' && text.trim().length > 0, `${lang}: finding.${code}.${part}`);
      }
  }
});

test('German and English name the same parameters in each text', () => {
  const en = FINDING_TEXTS_EN as Record<string, string>;
  for (const [key, de] of Object.entries(FINDING_TEXTS_DE))
    assert.deepEqual(placeholders(en[key]!), placeholders(de), key);
});

test('kartei doctor words a finding in German by default and in English when asked, with its dates and counts', () => {
  const finding = { code: 'backup-old', params: { hours: 1234, at: '2026-12-04T13:03:00.000Z' } };
  try {
    setCliLang('de');
    assert.equal(
      wordFinding(finding, findingWording()).title,
      'Die letzte Datensicherung ist 1.234 Stunden alt (vom 04.12.2026, 14:03 Uhr)',
    );
    const cert = wordFinding(
      { code: 'certificate-expired', params: { cert: 'dicom', date: '2026-12-04' } },
      findingWording(),
    );
    assert.equal(cert.title, 'Das DICOM-Serverzertifikat ist am 04.12.2026 abgelaufen');
    // A pid is an identifier, not a count: no thousands' dot.
    const running = wordFinding(
      { code: 'backup-running', params: { at: '2026-12-04T13:03:00.000Z', pid: 12345 } },
      findingWording(),
    );
    assert.match(running.title, /\(Prozess 12345\)/);
    // One account: the singular.
    assert.equal(
      wordFinding({ code: 'accounts-without-mfa', params: { n: 1 } }, findingWording()).title,
      '1 aktives Konto ohne zweiten Faktor',
    );
    assert.equal(wordFinding({ code: 'no-such-finding' }, findingWording()).title, 'Befund no-such-finding');

    setCliLang('en');
    const en = wordFinding(finding, findingWording());
    assert.match(en.title, /1,234 hour\(s\) old/);
    assert.match(en.title, /04\/12\/2026, 14:03/);
    assert.doesNotMatch(en.title, /Uhr|2026-12-04T/);
  } finally {
    setCliLang('de');
  }
});
