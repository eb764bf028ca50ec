// The documented JSON Schema (docs/transmission-11.schema.json) and the server's zod schema
// (src/contract/infection-transmission.ts) are one format: a valid file passes both, and each
// way a file could carry more than §11 allows — an extra key, a birth day, a free-text note, a
// case that is none — is refused by both.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { transmissionPayload } from '../../src/contract/infection-transmission.ts';

const addFormats = addFormatsModule as unknown as (a: Ajv2020) => Ajv2020;
const schema = JSON.parse(
  fs.readFileSync(path.resolve(import.meta.dirname, '../../docs/transmission-11.schema.json'), 'utf8'),
);
const validate = addFormats(new Ajv2020({ allErrors: true, strict: true })).compile(schema);

const valid = () => ({
  format: 'kartei-ifsg-11',
  formatVersion: 1,
  transmissionId: '0b7f9e1c-3a55-4c1e-9a53-6f1d2f7c8a01',
  sequence: 2,
  previousTransmissionId: '5c3b7c0e-2f7a-4f3e-8d2b-9e6a1c4b7d02',
  createdAt: '2026-12-05T08:15:00.000Z',
  districtCode: '09162',
  recipient: 'Landesamt für Gesundheit und Lebensmittelsicherheit',
  counts: { new: 1, changed: 0, withdrawn: 1 },
  cases: [
    {
      change: 'new',
      caseId: '7e0c2a4f-1d3b-4e5a-8c6d-2f9b1a3c5e03',
      version: 1,
      districtCode: '09162',
      sex: 'female',
      birthMonth: '1961-04',
      disease: { system: 'https://demis.rki.de/fhir/CodeSystem/notificationCategory', code: 'cvdp', display: null },
      pathogen: null,
      category: 'C',
      status: 'confirmed',
      onset: '2026-11-30',
      diagnosedOn: null,
      notifiedOn: '2026-12-03',
      reportingWeek: '2026-W49',
      hospitalised: false,
      hospitalisedFrom: null,
      died: null,
      diedOn: null,
      outbreakId: null,
    } as Record<string, unknown>,
    {
      change: 'withdrawn',
      caseId: '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c04',
      version: 3,
      withdrawal: 'deleted',
    } as Record<string, unknown>,
  ],
});

test('a valid file passes both schemas', () => {
  const file = valid();
  assert.ok(validate(file), JSON.stringify(validate.errors));
  assert.ok(transmissionPayload.safeParse(file).success);
});

const refusals: [string, (f: ReturnType<typeof valid>) => void][] = [
  ['a name beside the case data', (f) => (f.cases[0]!.familyName = 'Quastenberg')],
  ['a free-text note', (f) => (f.cases[0]!.notes = 'Rückruf unter 0151-7788123')],
  ['the notifier', (f) => (f.cases[0]!.notifier = 'Labor Dr. Hinterhuber')],
  ['a full birth date for the birth month', (f) => (f.cases[0]!.birthMonth = '1961-04-17')],
  ['a birth month 13', (f) => (f.cases[0]!.birthMonth = '1961-13')],
  ['a case that is none, reported', (f) => (f.cases[0]!.status = 'not-a-case')],
  ['a missing key', (f) => delete f.cases[0]!.outbreakId],
  ['a withdrawn case with data', (f) => (f.cases[1]!.sex = 'male')],
  ['a district code of 4 digits', (f) => (f.districtCode = '0916')],
  ['a key in the file besides its own', (f) => ((f as Record<string, unknown>).department = 'Infektionsschutz')],
  ['a coded value with free text', (f) => ((f.cases[0]!.disease as Record<string, unknown>).note = 'x')],
  ['a case id that is no UUID', (f) => (f.cases[0]!.caseId = 'Quastenberg-1961')],
  ['a reporting week 54', (f) => (f.cases[0]!.reportingWeek = '2026-W54')],
];

for (const [what, spoil] of refusals) {
  test(`both schemas refuse ${what}`, () => {
    const file = valid();
    spoil(file);
    assert.equal(validate(file), false, 'the JSON Schema');
    assert.equal(transmissionPayload.safeParse(file).success, false, 'the zod schema');
  });
}
