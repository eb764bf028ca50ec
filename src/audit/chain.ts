// The hash chain: each event's link covers the previous link and the event as
// stored (ciphertext included), so verification needs no decryption key. The
// canonical form length-prefixes every field, so no value can be confused
// with a field boundary and nothing needs escaping.
//
// A link is HMAC-SHA-256 under the chain key in the key directory
// (`chain-key.ts`), so whoever can write the database but not read the key
// directory cannot make a link that verifies. Events written before the chain
// key existed keep their plain SHA-256 links: their last sequence number per
// chain was fixed in the key file when it was created (`legacyUntil`).
import { createHmac, hash } from 'node:crypto';
import type { AuditEventsTable } from '../db/schema.ts';
import { keyObject } from '../vault/key-object.ts';
import { hmacSha256Hex } from './hmac-sha256.ts';

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

type ChainedValue = string | number | Uint8Array | null;

/** What links need from the key directory (plain data, so it can be handed to worker threads). */
export interface ChainKeying {
  /** The HMAC key of the links. */
  key: Uint8Array;
  /** Per chain, the last sequence number written with a plain SHA-256 link (before the key existed). */
  legacyUntil: Record<string, number>;
}

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

const TENANT = CHAINED_COLUMNS.indexOf('tenant_id');
const SEQ = CHAINED_COLUMNS.indexOf('seq');

/** Whether the event at `seq` of `chainId` was linked before the chain key existed. */
const isLegacyLink = (k: ChainKeying, chainId: string, seq: number): boolean => seq <= (k.legacyUntil[chainId] ?? 0);

/** What an event's link is computed over: the previous link and the event's chained values in canonical order. */
export const linkMaterial = (prevHash: string, values: readonly unknown[]): string =>
  `${prevHash}\n${canonicalValues(values)}`;

/** The link over `material` (`linkMaterial`) of the event at `seq` of `chainId`. */
export function linkOfMaterial(k: ChainKeying, chainId: string, seq: number, material: string): string {
  if (isLegacyLink(k, chainId, seq)) return hash('sha256', material, 'hex');
  return hmacSha256Hex(k.key, material) ?? createHmac('sha256', keyObject(k.key)).update(material).digest('hex');
}

/** The link of an event given as its chained values in canonical order. */
export const linkValues = (k: ChainKeying, prevHash: string, values: readonly unknown[]): string =>
  linkOfMaterial(k, values[TENANT] as string, Number(values[SEQ]), linkMaterial(prevHash, values));
