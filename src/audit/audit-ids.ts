// Ids in audit events often come from input: a path parameter, a department
// named in a body, a DICOM identifier. Text that is not a well-formed id (a
// UUID, as Kartei makes them, or a DICOM UID) is stored only as a keyed hash,
// so whatever a caller typed there (a name, say) never reaches the log in
// clear, while the same text still gives the same value for the DPO to follow.
import type { Keyring } from '../vault/keyring.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** PS3.5 9.1: components of digits without leading zeros, separated by dots; at most 64 characters. */
const DICOM_UID = /^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))+$/;

const HASHED_ID_PREFIX = 'hmac:';

const isWellFormedId = (v: string): boolean => v.length <= 64 && (UUID.test(v) || DICOM_UID.test(v));

/** `v` if it is a well-formed id, else its keyed hash (`hmac:` and 32 hex digits). */
export function auditableId(keyring: Keyring, v: string | null | undefined): string | null {
  if (v === null || v === undefined) return null;
  return isWellFormedId(v) ? v : `${HASHED_ID_PREFIX}${keyring.globalIndex('audit-input', v)}`;
}
