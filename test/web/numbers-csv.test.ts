// The numbers table as CSV: a disease's display typed as a formula (=HYPERLINK(…), +, -, @) stays
// text in a spreadsheet; quotes, semicolons and line breaks are quoted; counts stay numbers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { csvCell, csvText } from '../../web/src/screens/infection/numbers-csv.ts';

test('a cell a spreadsheet would take for a formula is kept as text', () => {
  assert.equal(
    csvCell('=HYPERLINK("http://böse.example","Masern")'),
    `"'=HYPERLINK(""http://böse.example"",""Masern"")"`,
  );
  for (const s of ['+1+1', '-2+3', '@SUM(A1)', '\tx', '\rx'])
    assert.ok(csvCell(s).replace(/^"/, '').startsWith("'"), s);
  assert.equal(csvCell('Masern'), 'Masern');
  assert.equal(csvCell('COVID-19'), 'COVID-19');
  assert.equal(csvCell('a;b'), '"a;b"');
  assert.equal(csvCell(-1), '-1');
  assert.equal(csvCell(12), '12');
});

test('the text: BOM, semicolons, CRLF', () => {
  assert.equal(
    csvText([
      ['Krankheit', 'KW 49'],
      ['Masern', 3],
    ]),
    '\uFEFFKrankheit;KW 49\r\nMasern;3\r\n',
  );
});
