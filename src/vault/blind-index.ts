// Keyed blind indexes: HMAC-SHA-256 over normalised values, so the database
// can find "Müller" without ever holding the name. Without the key the
// digests reveal nothing; with it they still cannot be reversed cheaply.
import { createHmac } from 'node:crypto';
import { koelnerPhonetik } from './koelner-phonetik.ts';

/** Person and study digests; studies add the patient ID and accession number. */
export type IndexKind = 'family' | 'given' | 'phonetic' | 'birth' | 'patient-id' | 'accession';

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

export function digest(key: Buffer, kind: IndexKind | 'username' | 'address' | 'login-pair' | 'audit-input' | 'sso-subject', value: string): string {
  return createHmac('sha256', key).update(`${kind}\0${value}`).digest('hex').slice(0, 32);
}

export interface PersonIndexInput {
  familyName: string;
  givenName: string;
  birthDate: string;
}

/** The index entries of one person: exact names, name words, phonetic codes, birth date. */
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
  return [digest(key, 'family', name), digest(key, 'given', name), ...(code ? [digest(key, 'phonetic', code)] : [])];
}
