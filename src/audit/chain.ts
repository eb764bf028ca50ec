// The hash chain: each event's hash covers the previous hash and the event as
// stored (ciphertext included), so verification needs no decryption key. The
// canonical form length-prefixes every field, so no value can be confused
// with a field boundary and nothing needs escaping.
import { hash } from 'node:crypto';
import type { AuditEventsTable } from '../db/schema.ts';

export const GENESIS_HASH = '0'.repeat(64);

export type ChainedFields = Omit<AuditEventsTable, 'prev_hash' | 'hash'>;

/** The chained columns, in canonical order. */
export const CHAINED_COLUMNS = [
  'tenant_id',
  'seq',
  'at',
  'actor_id',
  'action',
  'resource_type',
  'resource_id',
  'person_id',
  'department_id',
  'outcome',
  'reason_enc',
  'detail',
] as const satisfies readonly (keyof ChainedFields)[];

export type ChainedValue = string | number | Uint8Array | null;

/** The canonical form of the first CHAINED_COLUMNS.length values (a row may carry more). */
export function canonicalValues(values: readonly unknown[]): string {
  let out = '';
  for (let i = 0; i < CHAINED_COLUMNS.length; i++) {
    const v = values[i] as ChainedValue;
    if (v === null) out += '-|';
    else {
      const s = typeof v === 'string' ? v : typeof v === 'number' ? String(v) : Buffer.from(v).toString('base64');
      out += `${s.length}:${s}|`;
    }
  }
  return out;
}

export const chainHashValues = (prevHash: string, values: readonly unknown[]): string =>
  hash('sha256', `${prevHash}\n${canonicalValues(values)}`, 'hex');

export const chainHash = (prevHash: string, e: ChainedFields): string =>
  chainHashValues(prevHash, CHAINED_COLUMNS.map((c) => e[c]));
