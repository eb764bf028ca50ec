// The security report's findings worded for the screen: moments named in a finding's parameters
// (`at`, `backupAt`, `rotatedAt`) read as German dates, 04.12.2026 18:40, never as ISO text.
import { test } from 'node:test';
import assert from 'node:assert/strict';

// The browser's storage, which the i18n module reads for the chosen language: none chosen, so German.
Object.defineProperty(globalThis, 'localStorage', {
  value: { getItem: () => null, setItem: () => {}, removeItem: () => {} },
  configurable: true,
});
const { findingText } = await import('../../web/src/ui/problem-text.ts');

test('a restore finding names the backup and the key rotation as German moments', () => {
  const restored = findingText({
    code: 'restored-from-backup',
    severity: 'medium',
    title: '',
    fix: '',
    params: { at: '2026-12-04T17:40:00.000Z', backupAt: '2026-12-03T05:02:00.000Z', gap: 3 },
  });
  assert.match(restored.title, /\b\d{2}\.12\.2026 \d{2}:40\b/);
  assert.match(restored.title, /\b0[34]\.12\.2026 \d{2}:02\b/);
  assert.doesNotMatch(restored.title, /2026-12-0\dT/);

  const stale = findingText({
    code: 'keys-backup-stale',
    severity: 'medium',
    title: '',
    fix: '',
    params: { at: '2026-11-01T08:00:00.000Z', rotatedAt: '2026-11-20T09:30:00.000Z' },
  });
  assert.match(stale.title, /\b20\.11\.2026 \d{2}:30\b/);
  assert.doesNotMatch(stale.title, /T09:30/);
});
