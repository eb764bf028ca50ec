// Checks a parsed bundle against what the DEMIS profiles require of the two notification bundles a
// health office receives (NotificationBundleLaboratory §7 IfSG, NotificationBundleDisease §6 IfSG):
// identifiers, the Composition and its references, the notified person, the notifier, the laboratory
// report with its findings and specimens, the diagnosis, and the code systems against the real code
// lists. It collects every problem (path + what was expected) and never puts a value from the bundle
// into a problem: the quarantine list shows the reasons to staff. Locates what extract.ts reads.
//
// Checked: Bundle (profile, NotificationBundleId, type document, timestamp, entries, Composition first);
// Composition (NotificationId, status, LOINC 34782-3, date, subject → Patient, author → PractitionerRole,
// relatesTo code and target NotificationId); NotifiedPerson (family and given name unless an
// anonymous/not-by-name profile, gender, birth date format); NotifierRole → NotifierFacility (name,
// address) or Notifier; laboratory: section LOINC 11502-2 → DiagnosticReport (notificationCategory code
// in the RKI list, profile LaboratoryReportXXXX matching it, status, subject, issued, results) →
// Observations (code, value[x], interpretation, subject, specimen → Specimen, collection date format);
// disease: section `diagnosis` → Condition (notificationDiseaseCategory code in the RKI list, subject,
// onset/recorded date format).
// Not checked (DEMIS validates these before it forwards a bundle): cardinalities the profiles forbid
// (max=0 elements), LOINC/SNOMED codes of tests, methods, materials and results, coding versions,
// the disease-specific questionnaires (DiseaseInformation*) and vaccinations, address and telecom
// slices, Provenance and signatures, and the submitting facility.
import type {
  BundleProblem,
  BundleProblemCode,
  BundleProblemWhat,
  NotificationKind,
  RelatesTo,
} from './notification.ts';
import {
  DISEASE_CATEGORIES,
  NOTIFICATION_CATEGORY_SYSTEM,
  NOTIFICATION_DISEASE_CATEGORY_SYSTEM,
  PATHOGEN_CATEGORIES,
} from './code-systems.ts';
import {
  asList,
  asObject,
  asObjects,
  asText,
  claimsProfile,
  codings,
  EntryIndex,
  FHIR_DATE,
  FHIR_DATE_TIME,
  FHIR_INSTANT,
  hasCoding,
  type Json,
  type Located,
  profileBase,
} from './bundle-view.ts';

const SD = 'https://demis.rki.de/fhir/StructureDefinition/';
const LABORATORY_BUNDLE_PROFILE = `${SD}NotificationBundleLaboratory`;
const DISEASE_BUNDLE_PROFILE = `${SD}NotificationBundleDisease`;
const BUNDLE_PROFILES: Record<string, NotificationKind> = {
  [LABORATORY_BUNDLE_PROFILE]: 'laboratory',
  [DISEASE_BUNDLE_PROFILE]: 'disease',
};
const NOTIFICATION_BUNDLE_ID = 'https://demis.rki.de/fhir/NamingSystem/NotificationBundleId';
const NOTIFICATION_ID = 'https://demis.rki.de/fhir/NamingSystem/NotificationId';
const LOINC = 'http://loinc.org';
const SECTION_CODE = 'https://demis.rki.de/fhir/CodeSystem/sectionCode';
const COMPOSITION_STATUS = ['preliminary', 'final', 'amended', 'entered-in-error'];
const RELATES_TO_CODES: readonly RelatesTo['code'][] = ['replaces', 'appends', 'transforms', 'signs'];
const GENDERS = ['male', 'female', 'other', 'unknown'];
const REPORT_STATUS = [
  'registered',
  'partial',
  'preliminary',
  'final',
  'amended',
  'corrected',
  'appended',
  'cancelled',
  'entered-in-error',
];
const OBSERVATION_VALUES = ['valueQuantity', 'valueCodeableConcept', 'valueString', 'valueRange', 'valueRatio'];

/** What the checks found where: the resources extract.ts reads (present only when found). */
export interface CheckedBundle {
  kind: NotificationKind;
  /** Bundle.meta.profile as claimed (with a version suffix if given). */
  profile: string;
  bundle: Json;
  index: EntryIndex;
  composition: Located;
  patient?: Located;
  notifierRole?: Located;
  notifierOrganization?: Located;
  notifierPractitioner?: Located;
  report?: Located;
  observations: Located[];
  specimens: Located[];
  condition?: Located;
}

export type CheckResult = { problems: BundleProblem[]; checked?: CheckedBundle };

export function checkBundle(value: unknown): CheckResult {
  const bundle = asObject(value);
  if (bundle?.resourceType !== 'Bundle') {
    return {
      problems: [{ path: 'resourceType', code: 'not-a-bundle', expected: 'a FHIR Bundle (resourceType "Bundle")' }],
    };
  }
  const claimed = asList(asObject(bundle.meta)?.profile).find(
    (p): p is string => typeof p === 'string' && profileBase(p) in BUNDLE_PROFILES,
  );
  if (!claimed) {
    return {
      problems: [
        {
          path: 'Bundle.meta.profile',
          code: 'profile',
          params: { profiles: Object.keys(BUNDLE_PROFILES).join(', ') },
          expected: `one of the DEMIS notification bundle profiles ${Object.keys(BUNDLE_PROFILES).join(', ')}`,
        },
      ],
    };
  }
  const kind = BUNDLE_PROFILES[profileBase(claimed)]!;
  const problems: BundleProblem[] = [];
  const need: Need = (path, code, expected, params) =>
    problems.push({ path, code, ...(params ? { params } : {}), expected });

  const identifier = asObject(bundle.identifier);
  if (asText(identifier?.system) !== NOTIFICATION_BUNDLE_ID || !asText(identifier?.value)) {
    need(
      'Bundle.identifier',
      'identifier',
      `an identifier of the NamingSystem ${NOTIFICATION_BUNDLE_ID} with a value`,
      {
        system: NOTIFICATION_BUNDLE_ID,
      },
    );
  }
  if (bundle.type !== 'document') need('Bundle.type', 'fixed', 'the bundle type "document"', { value: 'document' });
  if (!FHIR_INSTANT.test(asText(bundle.timestamp) ?? '')) {
    need('Bundle.timestamp', 'instant', 'the time the bundle was assembled (a FHIR instant with time zone)');
  }
  if (!Array.isArray(bundle.entry) || bundle.entry.length === 0) {
    need('Bundle.entry', 'missing', 'the entries of the notification, the first a Composition', { what: 'entries' });
    return { problems };
  }
  bundle.entry.forEach((entry, i) => {
    const resource = asObject(asObject(entry)?.resource);
    if (!resource || !asText(resource.resourceType)) {
      need(`Bundle.entry[${i}].resource`, 'missing', 'a FHIR resource with its resourceType', { what: 'resource' });
    }
  });
  const index = new EntryIndex(bundle.entry);
  const first = index.entries[0];
  const composition = first?.index === 0 && first.type === 'Composition' ? first : index.ofType('Composition')[0];
  if (composition?.index !== 0) {
    need(
      'Bundle.entry[0].resource',
      'first-entry',
      'the notification (a Composition) as the first entry of the document',
    );
  }
  if (!composition) return { problems };

  const checked: CheckedBundle = {
    kind,
    profile: claimed,
    bundle,
    index,
    composition,
    observations: [],
    specimens: [],
  };
  const ctx: Context = { index, need };
  checkComposition(ctx, checked);
  if (kind === 'laboratory') checkLaboratory(ctx, checked);
  else checkDisease(ctx, checked);
  return { problems, checked };
}

/** Notes a problem: where, its code (and params, never from the bundle) and what was expected in English. */
type Need = (
  path: string,
  code: BundleProblemCode,
  expected: string,
  params?: { what?: BundleProblemWhat } & Record<string, string | number>,
) => void;

interface Context {
  index: EntryIndex;
  need: Need;
}

/** Resolves a reference to a resource of one of the given types, or says what was expected there. */
function follow(
  ctx: Context,
  reference: unknown,
  path: string,
  types: string[],
  [key, what]: [BundleProblemWhat, string],
): Located | undefined {
  const target = ctx.index.resolve(reference);
  if (target && types.includes(target.type)) return target;
  ctx.need(path, 'reference', `a reference to ${what} (${types.join(' or ')}) in this bundle`, {
    what: key,
    types: types.join(', '),
  });
  return undefined;
}

function checkComposition(ctx: Context, checked: CheckedBundle): void {
  const { resource: c, path } = checked.composition;
  const identifier = asObject(c.identifier);
  if (asText(identifier?.system) !== NOTIFICATION_ID || !asText(identifier?.value)) {
    ctx.need(`${path}.identifier`, 'identifier', `an identifier of the NamingSystem ${NOTIFICATION_ID} with a value`, {
      system: NOTIFICATION_ID,
    });
  }
  if (!COMPOSITION_STATUS.includes(c.status as string)) {
    ctx.need(`${path}.status`, 'one-of', `one of the status codes ${COMPOSITION_STATUS.join(', ')}`, {
      values: COMPOSITION_STATUS.join(', '),
    });
  }
  if (!hasCoding(c.type, LOINC, '34782-3')) {
    ctx.need(`${path}.type`, 'fixed', 'the document type LOINC 34782-3 (Infectious disease Note)', {
      value: 'LOINC 34782-3',
    });
  }
  if (!FHIR_DATE_TIME.test(asText(c.date) ?? '')) {
    ctx.need(`${path}.date`, 'date-time', 'the date and time of the notification (a FHIR dateTime)');
  }
  checked.patient = follow(ctx, c.subject, `${path}.subject`, ['Patient'], ['notified-person', 'the notified person']);
  if (checked.patient) checkPatient(ctx, checked.patient);

  const author = asList(c.author)[0];
  checked.notifierRole = follow(
    ctx,
    author,
    `${path}.author[0]`,
    ['PractitionerRole'],
    ['notifier-role', 'the notifier (NotifierRole)'],
  );
  if (checked.notifierRole) checkNotifier(ctx, checked);

  asObjects(c.relatesTo).forEach((relation, i) => {
    const at = `${path}.relatesTo[${i}]`;
    if (!RELATES_TO_CODES.includes(relation.code as RelatesTo['code'])) {
      ctx.need(`${at}.code`, 'one-of', `one of the codes ${RELATES_TO_CODES.join(', ')}`, {
        values: RELATES_TO_CODES.join(', '),
      });
    }
    if (!relatedNotificationId(relation)) {
      ctx.need(
        at,
        'missing',
        'the NotificationId of the related notification (targetReference.identifier or targetIdentifier with a value)',
        { what: 'related-notification' },
      );
    }
  });
  if (asList(c.relatesTo).length !== asObjects(c.relatesTo).length) {
    ctx.need(`${path}.relatesTo`, 'missing', 'a list of related notifications', { what: 'related-list' });
  }
}

/** Composition.relatesTo's target NotificationId: targetReference.identifier or targetIdentifier. */
export function relatedNotificationId(relation: Json): string | undefined {
  const identifier = asObject(asObject(relation.targetReference)?.identifier) ?? asObject(relation.targetIdentifier);
  return asText(identifier?.value);
}

function checkPatient(ctx: Context, patient: Located): void {
  const { resource: p, path } = patient;
  // NotifiedPersonAnonymous / NotByName carry no name (§7.3 and some §6 cases); NotifiedPerson must.
  const named = claimsProfile(p, `${SD}NotifiedPerson`) || !asList(asObject(p.meta)?.profile).length;
  const name = asObjects(p.name)[0];
  if (named) {
    if (!asText(name?.family))
      ctx.need(`${path}.name[0].family`, 'missing', "the notified person's family name", { what: 'family-name' });
    if (!asList(name?.given).some((g) => asText(g))) {
      ctx.need(`${path}.name[0].given`, 'missing', "the notified person's given name", { what: 'given-name' });
    }
  }
  if (!GENDERS.includes(p.gender as string)) {
    ctx.need(`${path}.gender`, 'one-of', `the administrative sex, one of ${GENDERS.join(', ')}`, {
      values: GENDERS.join(', '),
    });
  }
  if (p.birthDate !== undefined && !FHIR_DATE.test(asText(p.birthDate) ?? '')) {
    ctx.need(`${path}.birthDate`, 'birth-date', 'a date of birth as YYYY, YYYY-MM or YYYY-MM-DD');
  }
}

function checkNotifier(ctx: Context, checked: CheckedBundle): void {
  const { resource: role, path } = checked.notifierRole!;
  if (role.organization !== undefined) {
    checked.notifierOrganization = follow(
      ctx,
      role.organization,
      `${path}.organization`,
      ['Organization'],
      ['notifier-facility', 'the notifying facility (NotifierFacility)'],
    );
  }
  if (role.practitioner !== undefined) {
    checked.notifierPractitioner = follow(
      ctx,
      role.practitioner,
      `${path}.practitioner`,
      ['Practitioner'],
      ['notifier-person', 'the notifying person (Notifier)'],
    );
  }
  if (role.organization === undefined && role.practitioner === undefined) {
    ctx.need(path, 'missing', 'a reference to the notifying facility (organization) or person (practitioner)', {
      what: 'notifier',
    });
  }
  const organization = checked.notifierOrganization;
  if (organization) {
    if (!asText(organization.resource.name))
      ctx.need(`${organization.path}.name`, 'missing', "the notifying facility's name", { what: 'facility-name' });
    const address = asObjects(organization.resource.address)[0];
    if (!address)
      ctx.need(`${organization.path}.address`, 'missing', "the notifying facility's address", {
        what: 'facility-address',
      });
  }
}

function checkLaboratory(ctx: Context, checked: CheckedBundle): void {
  const { resource: c, path } = checked.composition;
  const sections = asObjects(c.section);
  const sectionIndex = sections.findIndex((s) => hasCoding(s.code, LOINC, '11502-2'));
  if (sectionIndex === -1) {
    ctx.need(`${path}.section`, 'fixed', 'a section with the code LOINC 11502-2 (Laboratory report)', {
      value: 'LOINC 11502-2',
    });
    return;
  }
  const report = follow(
    ctx,
    asList(sections[sectionIndex]!.entry)[0],
    `${path}.section[${sectionIndex}].entry[0]`,
    ['DiagnosticReport'],
    ['laboratory-report', 'the laboratory report (LaboratoryReport)'],
  );
  if (!report) return;
  checked.report = report;
  const r = report.resource;
  const coding = codings(r.code).find((k) => k.system === NOTIFICATION_CATEGORY_SYSTEM);
  if (!coding) {
    ctx.need(`${report.path}.code`, 'code-system', `a code of ${NOTIFICATION_CATEGORY_SYSTEM}`, {
      system: NOTIFICATION_CATEGORY_SYSTEM,
    });
  } else if (!coding.code || !(coding.code in PATHOGEN_CATEGORIES)) {
    ctx.need(
      `${report.path}.code`,
      'code-unknown',
      `a code listed in ${NOTIFICATION_CATEGORY_SYSTEM} (a notifiable pathogen)`,
      { system: NOTIFICATION_CATEGORY_SYSTEM },
    );
  } else {
    // The category fixes the report's profile (CodeSystem property diagnosticReport-profile).
    const expected = `${SD}LaboratoryReport${coding.code.toUpperCase()}`;
    const profiles = asList(asObject(r.meta)?.profile).filter((p): p is string => typeof p === 'string');
    const specific = profiles.filter((p) => /LaboratoryReport[A-Z]{4}$/.test(profileBase(p)));
    if (specific.length > 0 && !specific.some((p) => profileBase(p) === expected)) {
      ctx.need(
        `${report.path}.meta.profile`,
        'profile',
        `the laboratory report profile of its notification category, ${expected}`,
        { profiles: expected },
      );
    }
  }
  if (!REPORT_STATUS.includes(r.status as string)) {
    ctx.need(
      `${report.path}.status`,
      'one-of',
      'the status of the laboratory report (e.g. final, preliminary, amended)',
      {
        values: REPORT_STATUS.join(', '),
      },
    );
  }
  checkSubject(ctx, checked, r.subject, `${report.path}.subject`);
  if (!FHIR_INSTANT.test(asText(r.issued) ?? '')) {
    ctx.need(`${report.path}.issued`, 'instant', 'when the report was issued (a FHIR instant with time zone)');
  }
  const results = asList(r.result);
  if (results.length === 0)
    ctx.need(`${report.path}.result`, 'missing', 'at least one finding (PathogenDetection Observation)', {
      what: 'finding',
    });
  results.forEach((ref, i) => {
    const observation = follow(
      ctx,
      ref,
      `${report.path}.result[${i}]`,
      ['Observation'],
      ['finding', 'a finding (PathogenDetection)'],
    );
    if (observation) checkObservation(ctx, checked, observation);
  });
}

function checkSubject(ctx: Context, checked: CheckedBundle, subject: unknown, path: string): void {
  const target = follow(ctx, subject, path, ['Patient'], ['notified-person', 'the notified person']);
  if (target && checked.patient && target !== checked.patient) {
    ctx.need(path, 'same-subject', 'the same notified person as the Composition.subject');
  }
}

function checkObservation(ctx: Context, checked: CheckedBundle, observation: Located): void {
  checked.observations.push(observation);
  const { resource: o, path } = observation;
  if (!codings(o.code).some((k) => k.code))
    ctx.need(`${path}.code`, 'missing', 'what was tested (a coding of the test)', { what: 'test-code' });
  if (!OBSERVATION_VALUES.some((v) => o[v] !== undefined)) {
    ctx.need(`${path}.value[x]`, 'one-of', `the result, one of ${OBSERVATION_VALUES.join(', ')}`, {
      values: OBSERVATION_VALUES.join(', '),
    });
  }
  if (!asList(o.interpretation).some((i) => codings(i).some((k) => k.code))) {
    ctx.need(`${path}.interpretation`, 'missing', 'the interpretation of the result (a coding, e.g. POS, NEG)', {
      what: 'interpretation',
    });
  }
  checkSubject(ctx, checked, o.subject, `${path}.subject`);
  const specimen = follow(ctx, o.specimen, `${path}.specimen`, ['Specimen'], ['specimen', 'the specimen']);
  if (specimen && !checked.specimens.includes(specimen)) {
    checked.specimens.push(specimen);
    const collected = asObject(specimen.resource.collection)?.collectedDateTime;
    if (collected !== undefined && !FHIR_DATE_TIME.test(asText(collected) ?? '')) {
      ctx.need(
        `${specimen.path}.collection.collectedDateTime`,
        'date-time',
        'when the specimen was collected (a FHIR dateTime)',
      );
    }
  }
}

function checkDisease(ctx: Context, checked: CheckedBundle): void {
  const { resource: c, path } = checked.composition;
  const sections = asObjects(c.section);
  const sectionIndex = sections.findIndex((s) => hasCoding(s.code, SECTION_CODE, 'diagnosis'));
  if (sectionIndex === -1) {
    ctx.need(`${path}.section`, 'fixed', `a section with the code ${SECTION_CODE} diagnosis`, {
      value: `${SECTION_CODE} diagnosis`,
    });
    return;
  }
  const condition = follow(
    ctx,
    asList(sections[sectionIndex]!.entry)[0],
    `${path}.section[${sectionIndex}].entry[0]`,
    ['Condition'],
    ['diagnosis', 'the diagnosis (Disease)'],
  );
  if (!condition) return;
  checked.condition = condition;
  const k = condition.resource;
  const coding = codings(k.code).find((x) => x.system === NOTIFICATION_DISEASE_CATEGORY_SYSTEM);
  if (!coding) {
    ctx.need(`${condition.path}.code`, 'code-system', `a code of ${NOTIFICATION_DISEASE_CATEGORY_SYSTEM}`, {
      system: NOTIFICATION_DISEASE_CATEGORY_SYSTEM,
    });
  } else if (!coding.code || !(coding.code in DISEASE_CATEGORIES)) {
    ctx.need(
      `${condition.path}.code`,
      'code-unknown',
      `a code listed in ${NOTIFICATION_DISEASE_CATEGORY_SYSTEM} (a notifiable disease)`,
      { system: NOTIFICATION_DISEASE_CATEGORY_SYSTEM },
    );
  }
  checkSubject(ctx, checked, k.subject, `${condition.path}.subject`);
  for (const element of ['onsetDateTime', 'recordedDate']) {
    if (k[element] !== undefined && !FHIR_DATE_TIME.test(asText(k[element]) ?? '')) {
      ctx.need(`${condition.path}.${element}`, 'date-time', 'a FHIR date or dateTime');
    }
  }
}
