// Dates as German users type them: 12.04.1961, 12.4.1961 and 1961-04-12 are one date, sent as
// ISO; 31.02.2020, two-digit years and text are no date; the field shows ISO dates the German way.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dateInputText, parseDateInput } from '../../web/src/i18n/date-input.ts';

test('German and ISO typing give the same ISO date', () => {
  for (const typed of ['12.04.1961', '12.4.1961', ' 12.4.1961 ', '1961-04-12', '1961-4-12'])
    assert.equal(parseDateInput(typed), '1961-04-12', typed);
  assert.equal(parseDateInput('29.02.2024'), '2024-02-29', 'a leap day');
  assert.equal(parseDateInput('4.12.2026'), '2026-12-04');
});

test('no date: impossible days, two-digit years, other orders and text', () => {
  for (const typed of [
    '31.02.2020',
    '29.02.2023',
    '31.04.2026',
    '0.1.2020',
    '1.13.2020',
    '12.4.61',
    '04/12/2026',
    '12-04-1961',
    'gestern',
    '',
    '12.04.0961',
  ]) {
    assert.equal(parseDateInput(typed), null, typed);
  }
});

test('an ISO date is shown as TT.MM.JJJJ; anything else as it is', () => {
  assert.equal(dateInputText('1961-04-12'), '12.04.1961');
  assert.equal(dateInputText(''), '');
  assert.equal(dateInputText('31.02.2020'), '31.02.2020');
});
