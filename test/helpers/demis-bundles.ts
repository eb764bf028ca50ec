// Valid DEMIS notification bundles for tests: laboratoryBundle() and diseaseBundle() copy the structure
// of the real gematik example bundles in test/fixtures/demis/ (laboratory-cvdp.json, disease-cvdd.json)
// and set what a test varies: the person (name, birth date, sex, address), the disease or pathogen
// code, the identifiers (fresh UUIDs by default, so every call is a distinct notification), status,
// date and a correction's relatesTo. Each result passes parseNotificationBundle; serialise it with
// JSON.stringify (media type application/fhir+json).
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Bundle, BundleEntry, Composition, Condition, DiagnosticReport, FhirResource, Patient } from 'fhir/r4.js';

const FIXTURES = new URL('../fixtures/demis/', import.meta.url);
const SD = 'https://demis.rki.de/fhir/StructureDefinition/';
const template = (name: string) => readFileSync(new URL(name, FIXTURES), 'utf8');
const LABORATORY = template('laboratory-cvdp.json');
const DISEASE = template('disease-cvdd.json');

export interface BundleOverrides {
  familyName?: string;
  givenName?: string;
  /** `YYYY`, `YYYY-MM` or `YYYY-MM-DD`; `null` leaves the birth date out. */
  birthDate?: string | null;
  sex?: 'male' | 'female' | 'other' | 'unknown';
  street?: string;
  postalCode?: string;
  city?: string;
  /** Laboratory: a notificationCategory code (`cvdp`, `invp`, …); disease: a notificationDiseaseCategory code (`cvdd`, `msvd`, …). */
  diseaseCode?: string;
  bundleId?: string;
  notificationId?: string;
  status?: Composition['status'];
  /** Composition.date, a FHIR dateTime. */
  notifiedAt?: string;
  /** A correction or addition to an earlier notification, by its NotificationId. */
  relatesTo?: { code?: 'replaces' | 'appends'; notificationId: string };
}

function entries(bundle: Bundle<FhirResource>): BundleEntry<FhirResource>[] {
  return bundle.entry ?? [];
}

function find<T extends FhirResource>(bundle: Bundle<FhirResource>, type: T['resourceType']): T {
  const resource = entries(bundle).find((e) => e.resource?.resourceType === type)?.resource;
  if (!resource) throw new Error(`template has no ${type}`);
  return resource as T;
}

function common(bundle: Bundle<FhirResource>, o: BundleOverrides): void {
  bundle.identifier!.value = o.bundleId ?? randomUUID();
  const composition = find<Composition>(bundle, 'Composition');
  composition.identifier!.value = o.notificationId ?? randomUUID();
  if (o.status) composition.status = o.status;
  if (o.notifiedAt) composition.date = o.notifiedAt;
  if (o.relatesTo) {
    // As DEMIS sends a follow-up: the earlier Composition by its NotificationId.
    composition.relatesTo = [
      {
        code: o.relatesTo.code ?? 'replaces',
        targetReference: {
          type: 'Composition',
          identifier: {
            system: 'https://demis.rki.de/fhir/NamingSystem/NotificationId',
            value: o.relatesTo.notificationId,
          },
        },
      },
    ];
  }
  const patient = find<Patient>(bundle, 'Patient');
  const name = patient.name![0]!;
  if (o.familyName !== undefined) name.family = o.familyName;
  if (o.givenName !== undefined) name.given = o.givenName.split(' ');
  if (o.birthDate === null) delete patient.birthDate;
  else if (o.birthDate !== undefined) patient.birthDate = o.birthDate;
  if (o.sex) patient.gender = o.sex;
  const address = patient.address![0]!;
  if (o.street !== undefined) {
    address.line = [o.street];
    delete address._line;
  }
  if (o.postalCode !== undefined) address.postalCode = o.postalCode;
  if (o.city !== undefined) address.city = o.city;
}

/** A §7 laboratory notification (NotificationBundleLaboratory), by default SARS-CoV-2 (cvdp). */
export function laboratoryBundle(overrides: BundleOverrides = {}): Bundle<FhirResource> {
  const bundle = JSON.parse(LABORATORY) as Bundle<FhirResource>;
  common(bundle, overrides);
  const code = overrides.diseaseCode;
  if (code && code !== 'cvdp') {
    const report = find<DiagnosticReport>(bundle, 'DiagnosticReport');
    report.code = { coding: [{ system: 'https://demis.rki.de/fhir/CodeSystem/notificationCategory', code }] };
    const upper = code.toUpperCase();
    report.meta = { profile: [`${SD}LaboratoryReport${upper}`] };
    for (const entry of entries(bundle)) {
      const r = entry.resource;
      if (r?.resourceType === 'Observation') r.meta = { profile: [`${SD}PathogenDetection${upper}`] };
      if (r?.resourceType === 'Specimen') r.meta = { profile: [`${SD}Specimen${upper}`] };
    }
  }
  return bundle;
}

/** A §6 disease notification (NotificationBundleDisease), by default COVID-19 (cvdd). */
export function diseaseBundle(overrides: BundleOverrides = {}): Bundle<FhirResource> {
  const bundle = JSON.parse(DISEASE) as Bundle<FhirResource>;
  common(bundle, overrides);
  const code = overrides.diseaseCode;
  if (code && code !== 'cvdd') {
    const upper = code.toUpperCase();
    const condition = find<Condition>(bundle, 'Condition');
    condition.code = { coding: [{ system: 'https://demis.rki.de/fhir/CodeSystem/notificationDiseaseCategory', code }] };
    condition.meta = { profile: [`${SD}Disease${upper}`] };
    const composition = find<Composition>(bundle, 'Composition');
    composition.meta = { profile: [`${SD}NotificationDisease${upper}`] };
    // The COVID-19 specific questions and vaccinations do not belong to another disease.
    const specific = composition.section!.find((s) => s.code?.coding?.[0]?.code === 'specificClinAndEpiInformation');
    composition.section = composition.section!.filter((s) => s !== specific);
    const dropped = new Set(specific?.entry?.map((e) => e.reference));
    bundle.entry = entries(bundle).filter((e) => {
      const r = e.resource;
      if (!r) return true;
      if (r.resourceType === 'Immunization') return false;
      return !dropped.has(`${r.resourceType}/${r.id}`);
    });
  }
  return bundle;
}
