// The letter templates' field catalogue and filling (issue 17): the expert opinion's cover letter reaches no
// field of the opinion or a diagnosis, whatever the record holds; values go in as literal text in one pass
// (no field inside a value is expanded, no control character survives); unknown fields and unclosed braces
// are found with their line and column.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LETTER_TEMPLATE_KINDS } from '../../src/contract/letters.ts';
import { catalogue, fieldValue, germanDate, KIND_RECORDS, type FillSource } from '../../src/desk/template-fields.ts';
import { cleanValue, fillText, scanFields, templateProblems } from '../../src/desk/templates-fill.ts';
import { STARTER_TEMPLATES } from '../../src/desk/templates-starters.ts';
import { checkTemplate } from '../../src/desk/templates.ts';

const SECRET = 'GEHEIM-Befund-Diagnose';
const source = (record: Record<string, unknown>): FillSource => ({
  person: {
    familyName: 'Müller-Lüdenscheidt',
    givenName: 'Jürgen',
    birthDate: '1961-04-17',
    sex: 'male',
    address: { street: 'Straße 1', postalCode: '12345', city: 'Köln' },
  },
  record,
  user: { displayName: 'Dr. Erika Amtsärztin' },
  department: { name: 'Tuberkulosefürsorge' },
  today: '2026-12-04',
});

test("the expert opinion's cover letter offers the result, the authority and the question's date only", () => {
  const record = KIND_RECORDS['expert-opinion-cover'];
  assert.equal(record.recordType, 'expert-opinion');
  assert.deepEqual(
    record.fields.map((f) => f.key),
    ['result', 'requestedBy', 'requestedOn'],
  );
  // Whatever else the record holds, no field of the catalogue shows it.
  const full = source({
    question: SECRET,
    opinion: SECRET,
    diagnoses: [SECRET],
    findings: SECRET,
    date: '2026-12-03',
    result: 'nicht dienstfähig',
    requestedBy: 'Landesamt',
    requestedOn: '2026-11-02',
  });
  const values = catalogue('expert-opinion-cover').map((f) => fieldValue(f, full));
  assert.ok(
    values.every((v) => !v.includes(SECRET)),
    values.join(' | '),
  );
  assert.ok(values.includes('nicht dienstfähig'));
  assert.ok(values.includes('02.11.2026'));
  for (const name of ['record.opinion', 'record.diagnoses', 'record.question', 'record.date'])
    assert.ok(!catalogue('expert-opinion-cover').some((f) => f.name === name), name);
});

test('every field of every kind reads only its own key of the record', () => {
  for (const kind of LETTER_TEMPLATE_KINDS)
    for (const f of catalogue(kind)) {
      if (f.from !== 'record') continue;
      // A record holding only the secret under every other key yields nothing of it.
      const others = Object.fromEntries(
        [
          'opinion',
          'diagnoses',
          'question',
          'findings',
          'notes',
          'result',
          'requestedBy',
          'date',
          'disease',
          'measures',
        ]
          .filter((k) => k !== f.key)
          .map((k) => [k, SECRET]),
      );
      assert.ok(!fieldValue(f, source(others)).includes(SECRET), `${kind} ${f.name}`);
    }
});

test('values go in once, as text: no field inside a value, no control characters', () => {
  const s = source({});
  s.person.familyName = 'Evil{{today}}\u0007\r\nName';
  const out = fillText('other', 'Hallo {{person.familyName}}, heute {{ today }}.', s);
  assert.equal(out, 'Hallo Evil{{today}} Name, heute 04.12.2026.');
  assert.equal(cleanValue('a\tb\u0000c\u2028d'), 'a bcd');
  assert.throws(() => fillText('other', '{{record.opinion}}', s), /unknown field/);
});

test('German dates and salutations', () => {
  assert.equal(germanDate('2026-12-04'), '04.12.2026');
  const s = source({});
  assert.equal(
    fieldValue(catalogue('other').find((f) => f.name === 'person.salutation')!, s),
    'Sehr geehrter Herr Müller-Lüdenscheidt,',
  );
  s.person.sex = 'unknown';
  assert.equal(
    fieldValue(catalogue('other').find((f) => f.name === 'person.salutation')!, s),
    'Guten Tag Jürgen Müller-Lüdenscheidt,',
  );
});

test('unknown fields and unclosed braces are found with their line and column', () => {
  const { uses, unclosed } = scanFields('eins {{a}}\nzwei {{ b.c }} {{ offen');
  assert.deepEqual(uses, [
    { name: 'a', line: 1, column: 6 },
    { name: 'b.c', line: 2, column: 6 },
  ]);
  assert.deepEqual(unclosed, { line: 2, column: 16 });
  const problems = templateProblems('invitation', { body: 'x\n  {{person.diagnosis}}' }, 'content.');
  assert.deepEqual(
    problems.map(({ message: _m, ...p }) => p),
    [
      {
        field: 'content.body',
        code: 'template-field-unknown',
        params: { name: 'person.diagnosis', line: 2, column: 3 },
      },
    ],
  );
  assert.deepEqual(templateProblems('other', { subject: 'ok {{today}} }} ' }), []);
});

test('the starting templates use only fields their kind offers', () => {
  const starters = STARTER_TEMPLATES('Gesundheitsamt Musterstadt');
  assert.deepEqual(
    starters.map((s) => s.kind),
    ['invitation', 'certificate-36', 'isolation-order-30', 'expert-opinion-cover'],
  );
  for (const s of starters) checkTemplate(s.kind, s.content);
  const order = starters.find((s) => s.kind === 'isolation-order-30')!.content.body;
  assert.match(order, /Rechtsbehelfsbelehrung/);
  assert.match(order, /Widerspruch/);
  assert.match(starters.find((s) => s.kind === 'certificate-36')!.content.body, /§ 36 Abs\. 4 und 5 IfSG/);
});
