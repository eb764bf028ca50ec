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
import type { BundleProblem, NotificationKind, RelatesTo } from './notification.ts';
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
    return { problems: [{ path: 'resourceType', expected: 'a FHIR Bundle (resourceType "Bundle")' }] };
  }
  const claimed = asList(asObject(bundle.meta)?.profile).find(
    (p): p is string => typeof p === 'string' && profileBase(p) in BUNDLE_PROFILES,
  );
  if (!claimed) {
    return {
      problems: [
        {
          path: 'Bundle.meta.profile',
          expected: `one of the DEMIS notification bundle profiles ${Object.keys(BUNDLE_PROFILES).join(', ')}`,
        },
      ],
    };
  }
  const kind = BUNDLE_PROFILES[profileBase(claimed)]!;
  const problems: BundleProblem[] = [];
  const need = (path: string, expected: string) => problems.push({ path, expected });

  const identifier = asObject(bundle.identifier);
  if (asText(identifier?.system) !== NOTIFICATION_BUNDLE_ID || !asText(identifier?.value)) {
    need('Bundle.identifier', `an identifier of the NamingSystem ${NOTIFICATION_BUNDLE_ID} with a value`);
  }
  if (bundle.type !== 'document') need('Bundle.type', 'the bundle type "document"');
  if (!FHIR_INSTANT.test(asText(bundle.timestamp) ?? '')) {
    need('Bundle.timestamp', 'the time the bundle was assembled (a FHIR instant with time zone)');
  }
  if (!Array.isArray(bundle.entry) || bundle.entry.length === 0) {
    need('Bundle.entry', 'the entries of the notification, the first a Composition');
    return { problems };
  }
  bundle.entry.forEach((entry, i) => {
    const resource = asObject(asObject(entry)?.resource);
    if (!resource || !asText(resource.resourceType)) {
      need(`Bundle.entry[${i}].resource`, 'a FHIR resource with its resourceType');
    }
  });
  const index = new EntryIndex(bundle.entry);
  const first = index.entries[0];
  const composition = first?.index === 0 && first.type === 'Composition' ? first : index.ofType('Composition')[0];
  if (composition?.index !== 0) {
    need('Bundle.entry[0].resource', 'the notification (a Composition) as the first entry of the document');
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

interface Context {
  index: EntryIndex;
  need: (path: string, expected: string) => void;
}

/** Resolves a reference to a resource of one of the given types, or says what was expected there. */
function follow(ctx: Context, reference: unknown, path: string, types: string[], what: string): Located | undefined {
  const target = ctx.index.resolve(reference);
  if (target && types.includes(target.type)) return target;
  ctx.need(path, `a reference to ${what} (${types.join(' or ')}) in this bundle`);
  return undefined;
}

function checkComposition(ctx: Context, checked: CheckedBundle): void {
  const { resource: c, path } = checked.composition;
  const identifier = asObject(c.identifier);
  if (asText(identifier?.system) !== NOTIFICATION_ID || !asText(identifier?.value)) {
    ctx.need(`${path}.identifier`, `an identifier of the NamingSystem ${NOTIFICATION_ID} with a value`);
  }
  if (!COMPOSITION_STATUS.includes(c.status as string)) {
    ctx.need(`${path}.status`, `one of the status codes ${COMPOSITION_STATUS.join(', ')}`);
  }
  if (!hasCoding(c.type, LOINC, '34782-3')) {
    ctx.need(`${path}.type`, 'the document type LOINC 34782-3 (Infectious disease Note)');
  }
  if (!FHIR_DATE_TIME.test(asText(c.date) ?? '')) {
    ctx.need(`${path}.date`, 'the date and time of the notification (a FHIR dateTime)');
  }
  checked.patient = follow(ctx, c.subject, `${path}.subject`, ['Patient'], 'the notified person');
  if (checked.patient) checkPatient(ctx, checked.patient);

  const author = asList(c.author)[0];
  checked.notifierRole = follow(ctx, author, `${path}.author[0]`, ['PractitionerRole'], 'the notifier (NotifierRole)');
  if (checked.notifierRole) checkNotifier(ctx, checked);

  asObjects(c.relatesTo).forEach((relation, i) => {
    const at = `${path}.relatesTo[${i}]`;
    if (!RELATES_TO_CODES.includes(relation.code as RelatesTo['code'])) {
      ctx.need(`${at}.code`, `one of the codes ${RELATES_TO_CODES.join(', ')}`);
    }
    if (!relatedNotificationId(relation)) {
      ctx.need(
        at,
        'the NotificationId of the related notification (targetReference.identifier or targetIdentifier with a value)',
      );
    }
  });
  if (asList(c.relatesTo).length !== asObjects(c.relatesTo).length) {
    ctx.need(`${path}.relatesTo`, 'a list of related notifications');
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
    if (!asText(name?.family)) ctx.need(`${path}.name[0].family`, "the notified person's family name");
    if (!asList(name?.given).some((g) => asText(g))) {
      ctx.need(`${path}.name[0].given`, "the notified person's given name");
    }
  }
  if (!GENDERS.includes(p.gender as string)) {
    ctx.need(`${path}.gender`, `the administrative sex, one of ${GENDERS.join(', ')}`);
  }
  if (p.birthDate !== undefined && !FHIR_DATE.test(asText(p.birthDate) ?? '')) {
    ctx.need(`${path}.birthDate`, 'a date of birth as YYYY, YYYY-MM or YYYY-MM-DD');
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
      'the notifying facility (NotifierFacility)',
    );
  }
  if (role.practitioner !== undefined) {
    checked.notifierPractitioner = follow(
      ctx,
      role.practitioner,
      `${path}.practitioner`,
      ['Practitioner'],
      'the notifying person (Notifier)',
    );
  }
  if (role.organization === undefined && role.practitioner === undefined) {
    ctx.need(path, 'a reference to the notifying facility (organization) or person (practitioner)');
  }
  const organization = checked.notifierOrganization;
  if (organization) {
    if (!asText(organization.resource.name)) ctx.need(`${organization.path}.name`, "the notifying facility's name");
    const address = asObjects(organization.resource.address)[0];
    if (!address) ctx.need(`${organization.path}.address`, "the notifying facility's address");
  }
}

function checkLaboratory(ctx: Context, checked: CheckedBundle): void {
  const { resource: c, path } = checked.composition;
  const sections = asObjects(c.section);
  const sectionIndex = sections.findIndex((s) => hasCoding(s.code, LOINC, '11502-2'));
  if (sectionIndex === -1) {
    ctx.need(`${path}.section`, 'a section with the code LOINC 11502-2 (Laboratory report)');
    return;
  }
  const report = follow(
    ctx,
    asList(sections[sectionIndex]!.entry)[0],
    `${path}.section[${sectionIndex}].entry[0]`,
    ['DiagnosticReport'],
    'the laboratory report (LaboratoryReport)',
  );
  if (!report) return;
  checked.report = report;
  const r = report.resource;
  const coding = codings(r.code).find((k) => k.system === NOTIFICATION_CATEGORY_SYSTEM);
  if (!coding) {
    ctx.need(`${report.path}.code`, `a code of ${NOTIFICATION_CATEGORY_SYSTEM}`);
  } else if (!coding.code || !(coding.code in PATHOGEN_CATEGORIES)) {
    ctx.need(`${report.path}.code`, `a code listed in ${NOTIFICATION_CATEGORY_SYSTEM} (a notifiable pathogen)`);
  } else {
    // The category fixes the report's profile (CodeSystem property diagnosticReport-profile).
    const expected = `${SD}LaboratoryReport${coding.code.toUpperCase()}`;
    const profiles = asList(asObject(r.meta)?.profile).filter((p): p is string => typeof p === 'string');
    const specific = profiles.filter((p) => /LaboratoryReport[A-Z]{4}$/.test(profileBase(p)));
    if (specific.length > 0 && !specific.some((p) => profileBase(p) === expected)) {
      ctx.need(
        `${report.path}.meta.profile`,
        `the laboratory report profile of its notification category, ${expected}`,
      );
    }
  }
  if (!REPORT_STATUS.includes(r.status as string)) {
    ctx.need(`${report.path}.status`, 'the status of the laboratory report (e.g. final, preliminary, amended)');
  }
  checkSubject(ctx, checked, r.subject, `${report.path}.subject`);
  if (!FHIR_INSTANT.test(asText(r.issued) ?? '')) {
    ctx.need(`${report.path}.issued`, 'when the report was issued (a FHIR instant with time zone)');
  }
  const results = asList(r.result);
  if (results.length === 0) ctx.need(`${report.path}.result`, 'at least one finding (PathogenDetection Observation)');
  results.forEach((ref, i) => {
    const observation = follow(
      ctx,
      ref,
      `${report.path}.result[${i}]`,
      ['Observation'],
      'a finding (PathogenDetection)',
    );
    if (observation) checkObservation(ctx, checked, observation);
  });
}

function checkSubject(ctx: Context, checked: CheckedBundle, subject: unknown, path: string): void {
  const target = follow(ctx, subject, path, ['Patient'], 'the notified person');
  if (target && checked.patient && target !== checked.patient) {
    ctx.need(path, 'the same notified person as the Composition.subject');
  }
}

function checkObservation(ctx: Context, checked: CheckedBundle, observation: Located): void {
  checked.observations.push(observation);
  const { resource: o, path } = observation;
  if (!codings(o.code).some((k) => k.code)) ctx.need(`${path}.code`, 'what was tested (a coding of the test)');
  if (!OBSERVATION_VALUES.some((v) => o[v] !== undefined)) {
    ctx.need(`${path}.value[x]`, `the result, one of ${OBSERVATION_VALUES.join(', ')}`);
  }
  if (!asList(o.interpretation).some((i) => codings(i).some((k) => k.code))) {
    ctx.need(`${path}.interpretation`, 'the interpretation of the result (a coding, e.g. POS, NEG)');
  }
  checkSubject(ctx, checked, o.subject, `${path}.subject`);
  const specimen = follow(ctx, o.specimen, `${path}.specimen`, ['Specimen'], 'the specimen');
  if (specimen && !checked.specimens.includes(specimen)) {
    checked.specimens.push(specimen);
    const collected = asObject(specimen.resource.collection)?.collectedDateTime;
    if (collected !== undefined && !FHIR_DATE_TIME.test(asText(collected) ?? '')) {
      ctx.need(`${specimen.path}.collection.collectedDateTime`, 'when the specimen was collected (a FHIR dateTime)');
    }
  }
}

function checkDisease(ctx: Context, checked: CheckedBundle): void {
  const { resource: c, path } = checked.composition;
  const sections = asObjects(c.section);
  const sectionIndex = sections.findIndex((s) => hasCoding(s.code, SECTION_CODE, 'diagnosis'));
  if (sectionIndex === -1) {
    ctx.need(`${path}.section`, `a section with the code ${SECTION_CODE} diagnosis`);
    return;
  }
  const condition = follow(
    ctx,
    asList(sections[sectionIndex]!.entry)[0],
    `${path}.section[${sectionIndex}].entry[0]`,
    ['Condition'],
    'the diagnosis (Disease)',
  );
  if (!condition) return;
  checked.condition = condition;
  const k = condition.resource;
  const coding = codings(k.code).find((x) => x.system === NOTIFICATION_DISEASE_CATEGORY_SYSTEM);
  if (!coding) {
    ctx.need(`${condition.path}.code`, `a code of ${NOTIFICATION_DISEASE_CATEGORY_SYSTEM}`);
  } else if (!coding.code || !(coding.code in DISEASE_CATEGORIES)) {
    ctx.need(
      `${condition.path}.code`,
      `a code listed in ${NOTIFICATION_DISEASE_CATEGORY_SYSTEM} (a notifiable disease)`,
    );
  }
  checkSubject(ctx, checked, k.subject, `${condition.path}.subject`);
  for (const element of ['onsetDateTime', 'recordedDate']) {
    if (k[element] !== undefined && !FHIR_DATE_TIME.test(asText(k[element]) ?? '')) {
      ctx.need(`${condition.path}.${element}`, 'a FHIR date or dateTime');
    }
  }
}
