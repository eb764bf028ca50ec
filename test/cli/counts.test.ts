// Issue 19: s23-german-cli — counts on the command line as the language groups them: 1.234.567 in
// German, 1,234,567 in English (Intl, src/cli/messages.ts), as in audit verify's and re-encryption's lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatCount, msg, setCliLang } from '../../src/cli/messages.ts';

test('a count grouped as German groups it, and as English does', () => {
  try {
    setCliLang('de');
    assert.equal(formatCount(1234567), '1.234.567');
    assert.equal(formatCount(999), '999');
    assert.equal(
      msg('keys.reencrypt.progress', {
        code: 'INF',
        what: 'Bilder',
        done: formatCount(1200),
        total: formatCount(34567),
      }),
      'Abteilung INF: Bilder 1.200/34.567 angesehen',
    );
    setCliLang('en');
    assert.equal(formatCount(1234567), '1,234,567');
    assert.equal(
      msg('audit.ok', { count: formatCount(1234567), secs: '1.5 s', tail: formatCount(0) }),
      'audit chain OK: 1,234,567 events verified in 1.5 s (0 after the last signed checkpoint)',
    );
  } finally {
    setCliLang('de');
  }
});
