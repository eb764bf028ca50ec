// The DEMIS codec refuses broken bundles with one problem per fault, each naming the element's path
// and what was expected there, all collected at once; refuses hostile input (huge, deeply nested,
// entity expansion) without parsing it; and never repeats a person's name or birth date in a reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FhirResource } from 'fhir/r4.js';
import { MAX_BUNDLE_BYTES, MAX_NESTING, parseNotificationBundle } from '../../src/demis/codec/parse.ts';
import type { BundleProblem } from '../../src/demis/codec/notification.ts';
import { diseaseBundle, laboratoryBundle } from '../helpers/demis-bundles.ts';
import { toFhirXml } from '../helpers/fhir-xml-writer.ts';

const JSON_TYPE = 'application/fhir+json';
const XML_TYPE = 'application/fhir+xml';
const COMPOSITION = 'Bundle.entry[0].resource(Composition)';
const PATIENT = 'Bundle.entry[1].resource(Patient)';
const REPORT = 'Bundle.entry[6].resource(DiagnosticReport)';
// A person whose name and birth date must never show up in a reason.
const SECRET = { familyName: 'Quellenhorst', givenName: 'Zacharias', birthDate: '1911-11-11' } as const;

/** The problems with their codes and params (what the screens word); the secret is in none of them. */
function coded(body: string | Uint8Array, mediaType = JSON_TYPE): BundleProblem[] {
  const result = parseNotificationBundle(body, mediaType);
  if (result.ok) assert.fail('the bundle was accepted');
  const text = JSON.stringify(result.problems);
  for (const secret of Object.values(SECRET)) assert.ok(!text.includes(secret), `a reason repeats ${secret}`);
  for (const p of result.problems) assert.ok(p.code, `${p.path} has a code`);
  return result.problems;
}

/** The problems as path and what was expected (English). */
function problems(body: string | Uint8Array, mediaType = JSON_TYPE): Pick<BundleProblem, 'path' | 'expected'>[] {
  return coded(body, mediaType).map(({ path, expected }) => ({ path, expected }));
}

// The tests reach into the bundle as loosely as a sender may.
type Loose = any;
/** A valid laboratory bundle (of the secret person) after `change`, as JSON. */
function broken(change: (b: Loose) => void, make = laboratoryBundle): string {
  const bundle: Loose = make(SECRET);
  change(bundle);
  return JSON.stringify(bundle);
}

test('something other than a Bundle is refused with one problem naming the resource type', () => {
  const patient = { resourceType: 'Patient', name: [{ family: SECRET.familyName }], birthDate: SECRET.birthDate };
  assert.deepEqual(problems(JSON.stringify(patient)), [
    { path: 'resourceType', expected: 'a FHIR Bundle (resourceType "Bundle")' },
  ]);
  assert.deepEqual(problems('[1, 2, 3]'), [
    { path: 'resourceType', expected: 'a FHIR Bundle (resourceType "Bundle")' },
  ]);
  assert.deepEqual(problems(toFhirXml(patient), XML_TYPE), [
    { path: 'resourceType', expected: 'a FHIR Bundle (resourceType "Bundle")' },
  ]);
});

test('an unknown profile gives one problem naming Bundle.meta.profile and the accepted profiles', () => {
  const result = problems(
    broken((b) => {
      b.meta = { profile: ['https://demis.rki.de/fhir/StructureDefinition/NotificationBundleLaboratoryAnonymous'] };
    }),
  );
  assert.equal(result.length, 1);
  assert.equal(result[0]!.path, 'Bundle.meta.profile');
  assert.match(
    result[0]!.expected,
    /StructureDefinition\/NotificationBundleLaboratory, https:\/\/demis\.rki\.de\/fhir\/StructureDefinition\/NotificationBundleDisease$/,
  );
  // With a version suffix the profile is known.
  const versioned = laboratoryBundle();
  versioned.meta = { profile: ['https://demis.rki.de/fhir/StructureDefinition/NotificationBundleLaboratory|1.2.3'] };
  assert.equal(parseNotificationBundle(JSON.stringify(versioned), JSON_TYPE).ok, true);
});

test('a missing subject names the Composition.subject and the notified person expected there', () => {
  assert.deepEqual(
    problems(
      broken((b) => {
        delete b.entry[0]!.resource.subject;
      }),
    ),
    [{ path: `${COMPOSITION}.subject`, expected: 'a reference to the notified person (Patient) in this bundle' }],
  );
  // A subject pointing nowhere in the bundle is the same fault.
  assert.deepEqual(
    problems(
      broken((b) => {
        b.entry[0]!.resource.subject = { reference: 'Patient/elsewhere' };
      }),
    ).map((p) => p.path),
    [`${COMPOSITION}.subject`],
  );
});

test('a category from a wrong code system, or a code not in the RKI list, names the code system expected', () => {
  assert.deepEqual(
    problems(
      broken((b) => {
        b.entry[6]!.resource.code = { coding: [{ system: 'http://loinc.org', code: '94500-6' }] };
      }),
    ),
    [{ path: `${REPORT}.code`, expected: 'a code of https://demis.rki.de/fhir/CodeSystem/notificationCategory' }],
  );
  assert.deepEqual(
    problems(
      broken((b) => {
        b.entry[6]!.resource.code.coding[0].code = 'xxxp';
      }),
    ),
    [
      {
        path: `${REPORT}.code`,
        expected: 'a code listed in https://demis.rki.de/fhir/CodeSystem/notificationCategory (a notifiable pathogen)',
      },
    ],
  );
  const disease = problems(
    broken((b) => {
      const condition = b.entry.find((e: Loose) => e.resource.resourceType === 'Condition').resource;
      condition.code.coding[0].system = 'http://fhir.de/CodeSystem/bfarm/icd-10-gm';
    }, diseaseBundle),
  );
  assert.deepEqual(disease, [
    {
      path: 'Bundle.entry[3].resource(Condition).code',
      expected: 'a code of https://demis.rki.de/fhir/CodeSystem/notificationDiseaseCategory',
    },
  ]);
});

test('a laboratory report whose profile does not fit its category is refused', () => {
  assert.deepEqual(
    problems(
      broken((b) => {
        b.entry[6]!.resource.code.coding[0].code = 'invp';
      }),
    ),
    [
      {
        path: `${REPORT}.meta.profile`,
        expected:
          'the laboratory report profile of its notification category, https://demis.rki.de/fhir/StructureDefinition/LaboratoryReportINVP',
      },
    ],
  );
});

test('every fault of one bundle is named at once', () => {
  const result = problems(
    broken((b) => {
      delete b.identifier;
      b.type = 'collection';
      const c = b.entry[0]!.resource;
      c.status = 'draft';
      c.relatesTo = [{ code: 'replaces', targetReference: { reference: 'Composition/x' } }];
      const p = b.entry[1]!.resource;
      p.birthDate = '11.11.1911';
      delete p.gender;
      delete p.name[0].family;
      delete b.entry[7]!.resource.specimen;
      delete b.entry[8]!.resource.valueQuantity;
      delete b.entry[3]!.resource.name;
    }),
  );
  assert.deepEqual(result, [
    {
      path: 'Bundle.identifier',
      expected:
        'an identifier of the NamingSystem https://demis.rki.de/fhir/NamingSystem/NotificationBundleId with a value',
    },
    { path: 'Bundle.type', expected: 'the bundle type "document"' },
    {
      path: `${COMPOSITION}.status`,
      expected: 'one of the status codes preliminary, final, amended, entered-in-error',
    },
    { path: `${PATIENT}.name[0].family`, expected: "the notified person's family name" },
    { path: `${PATIENT}.gender`, expected: 'the administrative sex, one of male, female, other, unknown' },
    { path: `${PATIENT}.birthDate`, expected: 'a date of birth as YYYY, YYYY-MM or YYYY-MM-DD' },
    { path: 'Bundle.entry[3].resource(Organization).name', expected: "the notifying facility's name" },
    {
      path: `${COMPOSITION}.relatesTo[0]`,
      expected:
        'the NotificationId of the related notification (targetReference.identifier or targetIdentifier with a value)',
    },
    {
      path: 'Bundle.entry[7].resource(Observation).specimen',
      expected: 'a reference to the specimen (Specimen) in this bundle',
    },
    {
      path: 'Bundle.entry[8].resource(Observation).value[x]',
      expected: 'the result, one of valueQuantity, valueCodeableConcept, valueString, valueRange, valueRatio',
    },
  ]);
});

test('a bundle whose first entry is not the Composition, or without entries, is refused', () => {
  const swapped = problems(
    broken((b) => {
      b.entry.reverse();
    }),
  );
  assert.deepEqual(swapped[0], {
    path: 'Bundle.entry[0].resource',
    expected: 'the notification (a Composition) as the first entry of the document',
  });
  assert.deepEqual(
    problems(
      broken((b) => {
        b.entry = [];
      }),
    ),
    [{ path: 'Bundle.entry', expected: 'the entries of the notification, the first a Composition' }],
  );
  assert.deepEqual(
    problems(
      broken((b) => {
        (b.entry as unknown[])[4] = { fullUrl: 'urn:uuid:x' };
      }),
    ),
    [{ path: 'Bundle.entry[4].resource', expected: 'a FHIR resource with its resourceType' }],
  );
});

test('broken JSON and broken XML are named as such, without quoting the input', () => {
  const json = problems(
    `{"resourceType": "Bundle", "name": "${SECRET.familyName}" "birthDate": "${SECRET.birthDate}"}`,
  );
  assert.equal(json.length, 1);
  assert.equal(json[0]!.path, 'Bundle');
  assert.match(json[0]!.expected, /^well-formed JSON/);
  assert.match(problems('')[0]!.expected, /^well-formed JSON/);

  const xml = problems(
    `<Bundle xmlns="http://hl7.org/fhir"><entry><resource><Patient><name><family value="${SECRET.familyName}"/></name></Patient></entry></Bundle>`,
    XML_TYPE,
  );
  assert.deepEqual(xml, [{ path: 'Bundle', expected: 'well-formed XML (the error is on line 1)' }]);
  assert.deepEqual(problems('<Bundle xmlns="http://example.org/other"/>', XML_TYPE), [
    { path: 'Bundle', expected: 'the FHIR namespace http://hl7.org/fhir on the document element' },
  ]);
});

test('XML entity expansion (billion laughs) and external entities are refused before parsing', () => {
  const laughs = `<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<Bundle xmlns="http://hl7.org/fhir"><id value="&lol9;"/></Bundle>`;
  const expected = [
    { path: 'Bundle', expected: 'FHIR XML without a DOCTYPE or entity declarations (FHIR does not allow them)' },
  ];
  assert.deepEqual(problems(laughs, XML_TYPE), expected);
  const external = `<?xml version="1.0"?><!DOCTYPE b [<!ENTITY x SYSTEM "file:///etc/passwd">]><Bundle xmlns="http://hl7.org/fhir"><id value="&x;"/></Bundle>`;
  assert.deepEqual(problems(external, XML_TYPE), expected);
  // An undeclared entity stays as written; XML's own five and character references are decoded.
  const bundle = laboratoryBundle();
  bundle.entry![3]!.resource = {
    ...(bundle.entry![3]!.resource as object),
    name: 'Labor Müller & Söhne "Nord" <1>',
  } as FhirResource;
  const xml = toFhirXml(bundle as unknown as Record<string, unknown>).replace('Müller', 'M&#xFC;ller');
  const result = parseNotificationBundle(xml, XML_TYPE);
  assert.ok(result.ok);
  assert.equal(result.notification.notifier.organisation, 'Labor Müller & Söhne "Nord" <1>');
});

test('input over the size limit is refused unread, as text or as bytes', () => {
  const huge = `{"resourceType":"Bundle","padding":"${'x'.repeat(MAX_BUNDLE_BYTES)}"}`;
  const expected = [{ path: 'Bundle', expected: 'a bundle of at most 10 MB' }];
  assert.deepEqual(problems(huge), expected);
  assert.deepEqual(problems(new TextEncoder().encode(huge)), expected);
  assert.deepEqual(
    problems(`<Bundle xmlns="http://hl7.org/fhir">${' '.repeat(MAX_BUNDLE_BYTES)}</Bundle>`, XML_TYPE),
    expected,
  );
});

test('deeply nested input is refused without overflowing the stack', () => {
  const deepJson = `${'['.repeat(200_000)}${']'.repeat(200_000)}`;
  assert.deepEqual(problems(deepJson), [
    { path: 'Bundle', expected: `JSON nested at most ${MAX_NESTING} levels deep` },
  ]);
  // Inside an otherwise valid bundle, at a depth just over the limit.
  const bundle = laboratoryBundle() as unknown as Record<string, unknown>;
  let nested: unknown = 'x';
  for (let i = 0; i < MAX_NESTING; i++) nested = { extension: [nested] };
  bundle.extension = [nested];
  assert.equal(problems(JSON.stringify(bundle))[0]!.expected, `JSON nested at most ${MAX_NESTING} levels deep`);
  const deepXml = `<Bundle xmlns="http://hl7.org/fhir">${'<extension>'.repeat(100_000)}${'</extension>'.repeat(100_000)}</Bundle>`;
  assert.deepEqual(problems(deepXml, XML_TYPE), [
    { path: 'Bundle', expected: `FHIR XML nested at most ${MAX_NESTING} levels deep` },
  ]);
});

test('an unknown media type or bytes that are not UTF-8 are refused', () => {
  const bundle = JSON.stringify(laboratoryBundle());
  assert.deepEqual(problems(bundle, 'text/plain'), [
    { path: 'Content-Type', expected: 'application/fhir+json or application/fhir+xml (FHIR R4 JSON or XML)' },
  ]);
  assert.deepEqual(problems(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])), [
    { path: 'Bundle', expected: 'UTF-8 encoded text' },
  ]);
  // A file uploaded without a type is read as what it starts with.
  assert.equal(parseNotificationBundle(new TextEncoder().encode(bundle), 'application/octet-stream').ok, true);
  assert.equal(parseNotificationBundle(toFhirXml(JSON.parse(bundle)), '').ok, true);
  assert.deepEqual(problems('Bundle?', ''), [
    { path: 'Content-Type', expected: 'application/fhir+json or application/fhir+xml (FHIR R4 JSON or XML)' },
  ]);
  // A byte-order mark and media type parameters are fine.
  assert.equal(
    parseNotificationBundle(`\ufeff${bundle}`, 'application/fhir+json; charset=utf-8; fhirVersion=4.0').ok,
    true,
  );
});

test('a partial birth date stays partial; a birth date with a day but no month is refused', () => {
  for (const birthDate of ['1911', '1911-11']) {
    const result = parseNotificationBundle(JSON.stringify(laboratoryBundle({ birthDate })), JSON_TYPE);
    assert.ok(result.ok);
    assert.equal(result.notification.person.birthDate, birthDate);
  }
  assert.deepEqual(problems(JSON.stringify(laboratoryBundle({ ...SECRET, birthDate: '1911--11' }))), [
    { path: `${PATIENT}.birthDate`, expected: 'a date of birth as YYYY, YYYY-MM or YYYY-MM-DD' },
  ]);
});

test('each problem has a stable code and params from the rules (never from the bundle), for the screens to word', () => {
  const codes = (body: string | Uint8Array, mediaType = JSON_TYPE) =>
    coded(body, mediaType).map(({ path, code, params }) => ({ path, code, ...(params ? { params } : {}) }));
  assert.deepEqual(codes('{"resourceType":"Patient"}'), [{ path: 'resourceType', code: 'not-a-bundle' }]);
  assert.deepEqual(
    codes(
      broken((b) => {
        delete b.identifier;
        b.type = 'collection';
        const p = b.entry[1]!.resource;
        p.birthDate = '11.11.1911';
        delete p.gender;
        delete p.name[0].family;
        delete b.entry[7]!.resource.specimen;
        b.entry[6]!.resource.code.coding[0].code = 'zzzz';
      }),
    ),
    [
      {
        path: 'Bundle.identifier',
        code: 'identifier',
        params: { system: 'https://demis.rki.de/fhir/NamingSystem/NotificationBundleId' },
      },
      { path: 'Bundle.type', code: 'fixed', params: { value: 'document' } },
      { path: `${PATIENT}.name[0].family`, code: 'missing', params: { what: 'family-name' } },
      { path: `${PATIENT}.gender`, code: 'one-of', params: { values: 'male, female, other, unknown' } },
      { path: `${PATIENT}.birthDate`, code: 'birth-date' },
      {
        path: `${REPORT}.code`,
        code: 'code-unknown',
        params: { system: 'https://demis.rki.de/fhir/CodeSystem/notificationCategory' },
      },
      {
        path: 'Bundle.entry[7].resource(Observation).specimen',
        code: 'reference',
        params: { what: 'specimen', types: 'Specimen' },
      },
    ],
  );
  assert.deepEqual(codes('{"resourceType":'), [{ path: 'Bundle', code: 'malformed-json' }]);
  assert.deepEqual(codes('<Bundle xmlns="http://hl7.org/fhir">', XML_TYPE), [
    { path: 'Bundle', code: 'malformed-xml', params: { line: 1 } },
  ]);
  assert.deepEqual(codes('x'.repeat(MAX_BUNDLE_BYTES + 1)), [
    { path: 'Bundle', code: 'too-large', params: { mb: 10 } },
  ]);
  assert.deepEqual(codes('{}', 'text/plain'), [{ path: 'Content-Type', code: 'media-type' }]);
});
