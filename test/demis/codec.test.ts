// The DEMIS FHIR codec on the public gematik example bundles (test/fixtures/demis/, see its README):
// each parses to the notification a health office needs; the test builder's bundles parse too and
// carry what a test sets; a real bundle of another profile is refused naming Bundle.meta.profile.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseNotificationBundle } from '../../src/demis/codec/parse.ts';
import { fhirXmlToJson } from '../../src/demis/codec/fhir-xml.ts';
import { diseaseBundle, laboratoryBundle } from '../helpers/demis-bundles.ts';
import { toFhirXml } from '../helpers/fhir-xml-writer.ts';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/demis/${name}`, import.meta.url));
const JSON_TYPE = 'application/fhir+json';

function parsed(body: string | Uint8Array, mediaType = JSON_TYPE) {
  const result = parseNotificationBundle(body, mediaType);
  if (!result.ok) assert.fail(`refused: ${JSON.stringify(result.problems)}`);
  return result;
}

test('the laboratory example (SARS-CoV-2, JSON) gives its identifiers, category, person, notifier and findings', () => {
  const { notification, bundle } = parsed(fixture('laboratory-cvdp.json'));
  assert.equal(bundle.resourceType, 'Bundle');
  assert.equal(notification.kind, 'laboratory');
  assert.equal(notification.profile, 'https://demis.rki.de/fhir/StructureDefinition/NotificationBundleLaboratory');
  assert.equal(notification.bundleId, 'a5e00874-bb26-45ac-8eea-0bde76456703');
  assert.equal(notification.notificationId, 'e8d8cc43-32c2-4f93-8eaf-b2f3e6deb2a9');
  assert.equal(notification.status, 'final');
  assert.equal(notification.notifiedAt, '2021-03-04T20:16:00+01:00');
  assert.equal(notification.relatesTo, undefined);
  assert.deepEqual(notification.disease, {
    system: 'https://demis.rki.de/fhir/CodeSystem/notificationCategory',
    code: 'cvdp',
    display: 'Severe-Acute-Respiratory-Syndrome-Coronavirus-2 (SARS-CoV-2)',
  });
  assert.equal(notification.pathogen?.display, 'SARS-CoV-2');
  assert.deepEqual(notification.person, {
    familyName: 'Mustermann',
    givenName: 'Maxime',
    birthDate: '1950-02-11',
    sex: 'female',
    address: { street: 'Teststrasse 123', postalCode: '13055', city: 'Berlin', country: '20422' },
  });
  assert.equal(notification.notifier.kind, 'laboratory');
  assert.equal(notification.notifier.organisation, 'Primärlabor');
  assert.equal(notification.notifier.address?.postalCode, '13055');
  assert.equal(notification.laboratory?.specimenCollectedAt, '2021-03-04T09:50:00+01:00');
  assert.equal(notification.laboratory?.material?.code, '309164002');
  assert.deepEqual(
    notification.laboratory?.findings.map((f) => [f.result, f.interpretation]),
    [
      ['Detected', 'Positive'],
      ['123.45 mg/dl', 'Positive'],
    ],
  );
  assert.equal(notification.clinical, undefined);
});

test('the disease example (COVID-19, JSON) gives the diagnosis, hospitalisation and death', () => {
  const { notification } = parsed(fixture('disease-cvdd.json'));
  assert.equal(notification.kind, 'disease');
  assert.equal(notification.bundleId, '2d66a331-102a-4047-b666-1b2f18ee955e');
  assert.equal(notification.notificationId, '7f562b87-f2c2-4e9d-b3fc-37f6b5dca3a5');
  assert.equal(notification.disease.code, 'cvdd');
  assert.equal(notification.disease.system, 'https://demis.rki.de/fhir/CodeSystem/notificationDiseaseCategory');
  assert.equal(notification.person.givenName, 'Bertha-Luise Hanna Karin');
  assert.equal(notification.person.address?.city, 'Betroffenenstadt', 'the primary address, not the current one');
  assert.deepEqual(notification.person.telecom, ['01234567', 'bertha@betroffen.de']);
  assert.equal(notification.notifier.kind, 'facility');
  assert.equal(notification.notifier.organisation, 'TEST Organisation');
  assert.deepEqual(notification.clinical, {
    onset: '2022-01-01',
    diagnosedAt: '2022-01-02',
    verification: 'confirmed',
    hospitalised: true,
    hospitalisedFrom: '2022-01-05T00:00:00+01:00',
    died: true,
    diedOn: '2022-01-22',
  });
  assert.equal(notification.laboratory, undefined);
});

test('a notification that relates to an earlier one (targetIdentifier) names its NotificationId', () => {
  const { notification } = parsed(fixture('disease-cvdd-appends.json'));
  assert.deepEqual(notification.relatesTo, { code: 'appends', notificationId: 'ABC123' });
});

test('the laboratory example in FHIR XML (hepatitis C) parses, with the responsible department DEMIS tagged', () => {
  const { notification, bundle } = parsed(fixture('laboratory-hcvp.xml'), 'application/fhir+xml; fhirVersion=4.0');
  assert.equal(bundle.resourceType, 'Bundle');
  assert.equal(notification.kind, 'laboratory');
  assert.equal(notification.bundleId, '64cc9eba-a274-394f-8e99-4eec4f735b73');
  assert.equal(notification.disease.code, 'hcvp');
  assert.equal(notification.responsibleDepartment, '1.11.0.11.09.');
  assert.equal(notification.person.sex, 'male');
  assert.equal(notification.laboratory?.findings.length, 2);
  assert.equal(notification.laboratory?.findings[1]?.result, '29.07 CT-Wert', 'a decimal read from XML');
});

test('a real §7.3 non-nominal bundle is refused with one problem naming Bundle.meta.profile and the accepted ones', () => {
  const result = parseNotificationBundle(fixture('laboratory-nonnominal-7_3.json'), JSON_TYPE);
  assert.equal(result.ok, false);
  if (result.ok) return;
  assert.equal(result.problems.length, 1);
  assert.equal(result.problems[0]!.path, 'Bundle.meta.profile');
  assert.match(result.problems[0]!.expected, /NotificationBundleLaboratory.*NotificationBundleDisease/);
});

test('the test builder makes distinct valid bundles carrying what a test sets', () => {
  const lab = parsed(
    JSON.stringify(
      laboratoryBundle({
        familyName: 'Özdemir',
        givenName: 'Ayşe Nur',
        birthDate: '1984-07',
        sex: 'other',
        postalCode: '50667',
        city: 'Köln',
        street: 'Domkloster 4',
        diseaseCode: 'invp',
        bundleId: 'b-1',
        notificationId: 'n-1',
      }),
    ),
  ).notification;
  assert.equal(lab.bundleId, 'b-1');
  assert.equal(lab.notificationId, 'n-1');
  assert.equal(lab.disease.code, 'invp');
  assert.equal(lab.pathogen?.display, 'Influenzavirus');
  assert.deepEqual(lab.person, {
    familyName: 'Özdemir',
    givenName: 'Ayşe Nur',
    birthDate: '1984-07',
    sex: 'diverse',
    address: { street: 'Domkloster 4', postalCode: '50667', city: 'Köln', country: '20422' },
  });

  const correction = parsed(
    JSON.stringify(laboratoryBundle({ relatesTo: { notificationId: 'n-1' }, status: 'amended' })),
  ).notification;
  assert.deepEqual(correction.relatesTo, { code: 'replaces', notificationId: 'n-1' });
  assert.equal(correction.status, 'amended');

  const disease = parsed(JSON.stringify(diseaseBundle({ diseaseCode: 'msvd', birthDate: null }))).notification;
  assert.equal(disease.disease.code, 'msvd');
  assert.equal(disease.disease.display, 'Masern');
  assert.equal(disease.person.birthDate, undefined);

  const ids = new Set(Array.from({ length: 50 }, () => laboratoryBundle().identifier?.value));
  assert.equal(ids.size, 50, 'fresh bundle identifiers by default');
});

test('each JSON example sent as FHIR XML gives the same bundle and the same notification', () => {
  for (const name of [
    'laboratory-cvdp.json',
    'laboratory-ecop-specimens.json',
    'disease-cvdd.json',
    'disease-cvdd-appends.json',
    'disease-msvd.json',
  ]) {
    const json = JSON.parse(fixture(name).toString('utf8'));
    const fromJson = parsed(JSON.stringify(json));
    const fromXml = parsed(toFhirXml(json), 'application/fhir+xml');
    assert.deepEqual(fromXml.bundle, json, `${name}: the XML converts to the JSON shape, arrays and types included`);
    assert.deepEqual(fromXml.notification, fromJson.notification, name);
  }
  // The refused §7.3 bundle (other resources, other repeats) converts just as well.
  const other = JSON.parse(fixture('laboratory-nonnominal-7_3.json').toString('utf8'));
  assert.deepEqual(fhirXmlToJson(toFhirXml(other), 100), { ok: true, value: other });
});

test('each XML example converted to JSON and back gives the same bundle and notification', () => {
  for (const name of ['laboratory-hcvp.xml', 'disease-cvdd-preliminary.xml']) {
    const fromXml = parsed(fixture(name), 'application/fhir+xml');
    const again = parsed(toFhirXml(fromXml.bundle as unknown as Record<string, unknown>), 'application/fhir+xml');
    const asJson = parsed(JSON.stringify(fromXml.bundle));
    assert.deepEqual(again.bundle, fromXml.bundle, name);
    assert.deepEqual(asJson.notification, fromXml.notification, name);
  }
});

test("a vendor's disease notification in FHIR XML (preliminary, by a physician) parses", () => {
  const { notification } = parsed(fixture('disease-cvdd-preliminary.xml'), 'application/fhir+xml');
  assert.equal(notification.kind, 'disease');
  assert.equal(notification.status, 'preliminary');
  assert.equal(notification.notificationId, 'CVDD - 1259');
  assert.equal(notification.disease.code, 'cvdd');
  assert.equal(notification.notifier.kind, 'physician');
  assert.equal(notification.notifier.organisation, 'Neuer Standort 91');
  assert.deepEqual(notification.notifier.telecom, ['020896545781', 'sanchi@demis.com', '020-459876523']);
  assert.deepEqual(notification.clinical, {
    onset: '2024-12-14T10:51:00.0000000+01:00',
    verification: 'unconfirmed',
    hospitalised: true,
    hospitalisedFrom: '2024-12-24',
    died: false,
  });
});

test('a laboratory follow-up with several specimens and resistance findings keeps every finding', () => {
  const { notification } = parsed(fixture('laboratory-ecop-specimens.json'));
  assert.equal(notification.disease.code, 'ecop');
  assert.equal(notification.pathogen?.display, 'E. coli, sonstige');
  assert.deepEqual(notification.relatesTo, { code: 'appends', notificationId: '1234' });
  assert.equal(notification.laboratory?.findings.length, 7);
  assert.deepEqual(notification.laboratory?.findings[6], {
    test: 'Amikacin [Susceptibility]',
    result: '1255965005',
    interpretation: 'I',
  });
  assert.equal(notification.laboratory?.material?.display, 'Cerebrospinal fluid specimen (specimen)');
});

test('a measles notification amending an earlier one (targetReference) parses with its clinical facts', () => {
  const { notification } = parsed(fixture('disease-msvd.json'));
  assert.equal(notification.disease.code, 'msvd');
  assert.equal(notification.disease.display, 'Masern');
  assert.equal(notification.status, 'amended');
  assert.deepEqual(notification.relatesTo, { code: 'appends', notificationId: 'init-notification-42' });
  assert.equal(notification.clinical?.died, true);
  assert.equal(notification.clinical?.diedOn, '2024-03-05');
  assert.equal(notification.clinical?.hospitalisedFrom, '2024-01-30');
});

test('a birth date left out with a data-absent-reason extension is absent, in JSON and in XML', () => {
  const bundle = laboratoryBundle({ birthDate: null }) as unknown as { entry: { resource: Record<string, unknown> }[] };
  bundle.entry[1]!.resource._birthDate = {
    extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/data-absent-reason', valueCode: 'unknown' }],
  };
  const fromJson = parsed(JSON.stringify(bundle));
  const fromXml = parsed(toFhirXml(bundle as unknown as Record<string, unknown>), 'application/fhir+xml');
  assert.deepEqual(fromXml.bundle, bundle);
  assert.equal(fromXml.notification.person.birthDate, undefined);
  assert.deepEqual(fromXml.notification, fromJson.notification);
});

test('a bundle as DEMIS forwards it to the health office keeps the NotificationId under its own bundle identifier', () => {
  const sent = parsed(fixture('laboratory-cvdp.json')).notification;
  const received = parsed(fixture('laboratory-cvdp-to-health-office.json')).notification;
  assert.equal(received.notificationId, sent.notificationId);
  assert.notEqual(received.bundleId, sent.bundleId);
  assert.equal(received.responsibleDepartment, '1.01.0.53.');
  assert.deepEqual(received.person, sent.person);
  const disease = parsed(fixture('disease-cvdd-to-health-office.json')).notification;
  assert.equal(disease.notificationId, '7f562b87-f2c2-4e9d-b3fc-37f6b5dca3a5');
  assert.equal(disease.responsibleDepartment, '1.01.0.53.');
  assert.equal(disease.disease.code, 'cvdd');
});
