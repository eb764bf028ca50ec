// Takes what Kartei keeps from a checked DEMIS bundle (ParsedNotification, notification.ts): identifiers,
// the correction it makes, the disease or pathogen category, the notified person, the notifier, the
// laboratory findings or the clinical facts. Runs only on bundles check-bundle.ts passed; absent
// elements stay absent, partial dates stay partial.
import type { Coded, Notifier, NotifiedPerson, ParsedNotification, PostalAddress, RelatesTo } from './notification.ts';
import {
  DISEASE_CATEGORIES,
  NOTIFICATION_CATEGORY_SYSTEM,
  NOTIFICATION_DISEASE_CATEGORY_SYSTEM,
  PATHOGEN_CATEGORIES,
} from './code-systems.ts';
import { asList, asObject, asObjects, asText, codings, type Json, type Located } from './bundle-view.ts';
import { type CheckedBundle, relatedNotificationId } from './check-bundle.ts';

const ADDRESS_USE = 'https://demis.rki.de/fhir/StructureDefinition/AddressUse';
const RESPONSIBLE_DEPARTMENT = 'https://demis.rki.de/fhir/CodeSystem/ResponsibleDepartment';

export function extractNotification(checked: CheckedBundle): ParsedNotification {
  const { bundle, composition } = checked;
  const c = composition.resource;
  const category =
    checked.kind === 'laboratory'
      ? coded(checked.report?.resource.code, NOTIFICATION_CATEGORY_SYSTEM)
      : coded(checked.condition?.resource.code, NOTIFICATION_DISEASE_CATEGORY_SYSTEM);
  const notification: ParsedNotification = {
    kind: checked.kind,
    profile: checked.profile,
    bundleId: asText(asObject(bundle.identifier)?.value) ?? '',
    notificationId: asText(asObject(c.identifier)?.value) ?? '',
    status: c.status as ParsedNotification['status'],
    notifiedAt: asText(c.date) ?? '',
    disease: withCodeListName(category ?? { system: '', code: '' }),
    person: person(checked.patient?.resource),
    notifier: notifier(checked),
  };
  const relation = asObjects(c.relatesTo)[0];
  const relatedId = relation && relatedNotificationId(relation);
  if (relation && relatedId)
    notification.relatesTo = { code: relation.code as RelatesTo['code'], notificationId: relatedId };
  const department = asObjects(asObject(bundle.meta)?.tag).find((t) => t.system === RESPONSIBLE_DEPARTMENT);
  if (asText(department?.code)) notification.responsibleDepartment = asText(department?.code);
  if (checked.kind === 'laboratory') {
    const pathogen = laboratoryPathogen(category);
    if (pathogen) notification.pathogen = pathogen;
    notification.laboratory = laboratory(checked);
  } else if (checked.condition) {
    notification.clinical = clinical(checked, checked.condition.resource);
  }
  return notification;
}

function coded(concept: unknown, system?: string): Coded | undefined {
  const coding = codings(concept).find((k) => k.code && k.system && (system === undefined || k.system === system));
  if (!coding?.code || !coding.system) return undefined;
  return { system: coding.system, code: coding.code, ...(coding.display ? { display: coding.display } : {}) };
}

/** A DEMIS category without a display in the bundle gets the code list's German name. */
function withCodeListName(category: Coded): Coded {
  if (category.display) return category;
  const list = category.system === NOTIFICATION_CATEGORY_SYSTEM ? PATHOGEN_CATEGORIES : DISEASE_CATEGORIES;
  const known = list[category.code];
  return known ? { ...category, display: known.display } : category;
}

function address(value: Json | undefined): PostalAddress | undefined {
  if (!value) return undefined;
  const lines = asList(value.line)
    .map(asText)
    .filter((l): l is string => l !== undefined);
  const result: PostalAddress = {};
  if (lines.length) result.street = lines.join(', ');
  if (asText(value.postalCode)) result.postalCode = asText(value.postalCode);
  if (asText(value.city)) result.city = asText(value.city);
  if (asText(value.country)) result.country = asText(value.country);
  return Object.keys(result).length ? result : undefined;
}

function addressUse(value: Json): string | undefined {
  const extension = asObjects(value.extension).find((e) => e.url === ADDRESS_USE);
  return asText(asObject(extension?.valueCoding)?.code);
}

function telecom(resource: Json | undefined): string[] {
  return asObjects(resource?.telecom)
    .map((t) => asText(t.value))
    .filter((v): v is string => v !== undefined);
}

const SEX: Record<string, NotifiedPerson['sex']> = {
  female: 'female',
  male: 'male',
  other: 'diverse',
  unknown: 'unknown',
};

function person(patient: Json | undefined): NotifiedPerson {
  if (!patient) return {};
  const result: NotifiedPerson = {};
  const name = asObjects(patient.name)[0];
  if (asText(name?.family)) result.familyName = asText(name?.family);
  const given = asList(name?.given)
    .map(asText)
    .filter((g): g is string => g !== undefined);
  if (given.length) result.givenName = given.join(' ');
  if (asText(patient.birthDate)) result.birthDate = asText(patient.birthDate);
  const sex = SEX[patient.gender as string];
  if (sex) result.sex = sex;
  // The residence: the primary (Hauptwohnsitz), else the ordinary, else the current address with content.
  const addresses = asObjects(patient.address);
  const rank = (a: Json) => ['primary', 'ordinary', 'current'].indexOf(addressUse(a) ?? '') + 1 || 4;
  const best = addresses
    .filter((a) => address(a))
    .sort((a, b) => rank(a) - rank(b))
    .map(address)[0];
  if (best) result.address = best;
  const phones = telecom(patient);
  if (phones.length) result.telecom = phones;
  return result;
}

function humanName(value: unknown): string | undefined {
  const name = asObject(asList(value)[0]);
  if (!name) return undefined;
  if (asText(name.text)) return asText(name.text);
  const parts = [...asList(name.prefix), ...asList(name.given), name.family].map(asText).filter(Boolean);
  return parts.length ? parts.join(' ') : undefined;
}

function notifier(checked: CheckedBundle): Notifier {
  const organization = checked.notifierOrganization?.resource;
  const practitioner = checked.notifierPractitioner?.resource;
  const kind: Notifier['kind'] =
    checked.kind === 'laboratory' ? 'laboratory' : practitioner ? 'physician' : organization ? 'facility' : 'other';
  const result: Notifier = { kind };
  if (asText(organization?.name)) result.organisation = asText(organization?.name);
  const contact = asObjects(organization?.contact)[0];
  const who = humanName(practitioner?.name) ?? humanName(contact?.name);
  if (who) result.person = who;
  const where = address(asObjects(organization?.address)[0]) ?? address(asObjects(practitioner?.address)[0]);
  if (where) result.address = where;
  const reach = [...new Set([...telecom(organization), ...telecom(practitioner)])];
  if (reach.length) result.telecom = reach;
  return result;
}

/** The pathogen category with its German short name (DEMIS codes the pathogen by its category). */
function laboratoryPathogen(category: Coded | undefined): Coded | undefined {
  if (!category) return undefined;
  const known = PATHOGEN_CATEGORIES[category.code];
  return { system: category.system, code: category.code, ...(known ? { display: known.name } : {}) };
}

function display(concept: unknown): string | undefined {
  const object = asObject(concept);
  if (!object) return undefined;
  const coding = codings(object).find((k) => k.display || k.code);
  return asText(object.text) ?? coding?.display ?? coding?.code;
}

function quantity(value: unknown): string | undefined {
  const q = asObject(value);
  if (!q || q.value === undefined) return undefined;
  const unit = asText(q.unit) ?? asText(q.code);
  return [asText(q.comparator), String(q.value), unit].filter(Boolean).join(' ');
}

function result(o: Json): string | undefined {
  if (o.valueCodeableConcept !== undefined) return display(o.valueCodeableConcept);
  if (o.valueQuantity !== undefined) return quantity(o.valueQuantity);
  if (o.valueString !== undefined) return asText(o.valueString);
  const range = asObject(o.valueRange);
  if (range) return `${quantity(range.low) ?? ''}–${quantity(range.high) ?? ''}`;
  const ratio = asObject(o.valueRatio);
  if (ratio) return `${quantity(ratio.numerator) ?? ''} : ${quantity(ratio.denominator) ?? ''}`;
  return undefined;
}

function laboratory(checked: CheckedBundle): NonNullable<ParsedNotification['laboratory']> {
  const specimen: Located | undefined = checked.specimens[0];
  const out: NonNullable<ParsedNotification['laboratory']> = {
    findings: checked.observations.map((o) => {
      const finding: { test?: string; result?: string; interpretation?: string } = {};
      const test = display(o.resource.code);
      if (test) finding.test = test;
      const value = result(o.resource);
      if (value) finding.result = value;
      const interpretation = display(asList(o.resource.interpretation)[0]);
      if (interpretation) finding.interpretation = interpretation;
      return finding;
    }),
  };
  const collected = asText(asObject(specimen?.resource.collection)?.collectedDateTime);
  if (collected) out.specimenCollectedAt = collected;
  const material = coded(specimen?.resource.type);
  if (material) out.material = material;
  return out;
}

/** A DEMIS yes/no answer (CodeSystem yesOrNoAnswer): true, false, or absent for unknown. */
function yesNo(item: Json | undefined): boolean | undefined {
  const code = asText(asObject(asObjects(item?.answer)[0]?.valueCoding)?.code);
  return code === 'yes' ? true : code === 'no' ? false : undefined;
}

/** Every item of the QuestionnaireResponses (DiseaseInformation*) the Composition's sections refer to. */
function questionnaireItems(checked: CheckedBundle): Json[] {
  const items: Json[] = [];
  const stack: Json[] = [];
  for (const section of asObjects(checked.composition.resource.section)) {
    for (const ref of asList(section.entry)) {
      const target = checked.index.resolve(ref);
      if (target?.type === 'QuestionnaireResponse') stack.push(...asObjects(target.resource.item));
    }
  }
  // Iterative: the nesting of items is the sender's to choose; the input's depth is bounded anyway.
  while (stack.length) {
    const item = stack.pop()!;
    items.push(item);
    stack.push(...asObjects(item.item));
    for (const answer of asObjects(item.answer)) stack.push(...asObjects(answer.item));
  }
  return items;
}

function clinical(checked: CheckedBundle, condition: Json): NonNullable<ParsedNotification['clinical']> {
  const out: NonNullable<ParsedNotification['clinical']> = {};
  const onset = asText(condition.onsetDateTime) ?? asText(asObject(condition.onsetPeriod)?.start);
  if (onset) out.onset = onset;
  if (asText(condition.recordedDate)) out.diagnosedAt = asText(condition.recordedDate);
  const verification = display(condition.verificationStatus);
  if (verification) out.verification = verification;
  const items = questionnaireItems(checked);
  const item = (linkId: string) => items.find((i) => i.linkId === linkId);
  const hospitalised = yesNo(item('hospitalized'));
  if (hospitalised !== undefined) out.hospitalised = hospitalised;
  const stays = items
    .filter((i) => i.linkId === 'hospitalizedEncounter')
    .map((i) => checked.index.resolve(asObjects(i.answer)[0]?.valueReference))
    .map((e) => (e?.type === 'Encounter' ? asText(asObject(e.resource.period)?.start) : undefined))
    .filter((s): s is string => s !== undefined)
    .sort();
  if (stays[0]) out.hospitalisedFrom = stays[0];
  const died = yesNo(item('isDead'));
  if (died !== undefined) out.died = died;
  const diedOn = asText(asObjects(item('deathDate')?.answer)[0]?.valueDate);
  if (diedOn) out.diedOn = diedOn;
  return out;
}
