// Keyed blind indexes: HMAC-SHA-256 over normalised values, so the database
// can find "Müller" without ever holding the name. Without the key the
// digests reveal nothing; with it they still cannot be reversed cheaply.
import { createHmac } from 'node:crypto';
import { koelnerPhonetik } from './koelner-phonetik.ts';
import { keyObject } from './key-object.ts';
// Issue 19: keys — a rotated department key keeps its first version's digests (they are stored).
import { firstVersion } from './aead.ts';

/**
 * Person and study digests; studies add the accession number. `link` is what a
 * received study is linked to a file by (family and given name as German
 * transliterates them, and the birth date); `patient-id` a file's DICOM Patient ID.
 */
export type IndexKind = 'family' | 'given' | 'phonetic' | 'birth' | 'patient-id' | 'accession' | 'link';

/** Case, accents and spacing do not matter for equality of names. */
export function normaliseName(value: string): string {
  return value
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/ß/g, 'ss')
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

/**
 * A name as German transliterates it, for linking studies: `Müller` and `MUELLER`
 * are equal (ä⇄ae, ö⇄oe, ü⇄ue, ß⇄ss), `Muller` is not; case, spaces, hyphens and
 * other accents do not matter. Search keeps `normaliseName`, where `Muller` finds `Müller`.
 */
function transliterateName(value: string): string {
  return value
    .normalize('NFC')
    .toLowerCase()
    .replace(/ä/g, 'ae')
    .replace(/ö/g, 'oe')
    .replace(/ü/g, 'ue')
    .replace(/ß/g, 'ss')
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

/** What a study is linked by: family and given name transliterated, and the birth date; '' if one is missing. */
function linkValue(p: { familyName: string; givenName: string; birthDate: string }): string {
  const family = transliterateName(p.familyName);
  const given = transliterateName(p.givenName);
  return family && given && p.birthDate ? `${family}\0${given}\0${p.birthDate}` : '';
}

/** A DICOM Patient ID as matched: exact, without surrounding spaces (LO pads with one). */
const patientIdValue = (id: string | undefined) => (id ?? '').trim();

export function digest(
  key: Buffer,
  kind:
    | IndexKind
    | 'username'
    | 'address'
    | 'login-pair'
    | 'audit-input'
    | 'sso-subject'
    | 'disease'
    | 'bundle-content',
  value: string,
): string {
  return createHmac('sha256', keyObject(firstVersion(key)))
    .update(`${kind}\0${value}`)
    .digest('hex')
    .slice(0, 32);
}

export interface PersonIndexInput {
  familyName: string;
  givenName: string;
  birthDate: string;
  /** The Patient ID the department's devices send for this person (a file's optional field). */
  dicomPatientId?: string;
}

/** The index entries of one person: exact names, name words, phonetic codes, birth date, what studies link by. */
export function personDigests(key: Buffer, p: PersonIndexInput): { kind: IndexKind; digest: string }[] {
  const out = new Map<string, IndexKind>();
  const family = normaliseName(p.familyName);
  const add = (kind: IndexKind, value: string) => value && out.set(digest(key, kind, value), kind);
  add('family', family);
  for (const word of family.split(' ')) {
    add('family', word);
    add('phonetic', koelnerPhonetik(word));
  }
  add('given', normaliseName(p.givenName));
  add('birth', p.birthDate);
  add('link', linkValue(p));
  add('patient-id', patientIdValue(p.dicomPatientId));
  return [...out].map(([d, kind]) => ({ kind, digest: d }));
}

/** The digests a search term can match: a birth date, or a (family or given) name exactly or phonetically. */
export function queryDigests(key: Buffer, term: string): string[] {
  const t = term.trim();
  if (/^\d{4}-\d{2}-\d{2}$/.test(t)) return [digest(key, 'birth', t)];
  const de = /^(\d{1,2})\.(\d{1,2})\.(\d{4})$/.exec(t);
  if (de) return [digest(key, 'birth', `${de[3]}-${de[2]!.padStart(2, '0')}-${de[1]!.padStart(2, '0')}`)];
  const name = normaliseName(t);
  if (!name) return [];
  const code = koelnerPhonetik(name);
  // A file's DICOM Patient ID finds it too (exactly, as devices send it).
  return [
    digest(key, 'family', name),
    digest(key, 'given', name),
    ...(code ? [digest(key, 'phonetic', code)] : []),
    digest(key, 'patient-id', t),
  ];
}
