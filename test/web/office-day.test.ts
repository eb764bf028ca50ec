// The office's day in the browser is Berlin's, whatever the machine's time zone: after 23:00 UTC in
// winter (22:00 in summer) it is already tomorrow, as the server counts follow-ups and measures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { officeToday } from '../../web/src/i18n/office-day.ts';

test("the office's day turns at Berlin's midnight, in winter and in summer", () => {
  assert.equal(officeToday(new Date('2026-12-05T22:59:00Z')), '2026-12-05');
  assert.equal(officeToday(new Date('2026-12-05T23:19:00Z')), '2026-12-06');
  assert.equal(officeToday(new Date('2026-07-01T21:59:00Z')), '2026-07-01');
  assert.equal(officeToday(new Date('2026-07-01T22:30:00Z')), '2026-07-02');
});
