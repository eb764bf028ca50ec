// The hash chain: each event's hash covers the previous hash and the event as
// stored (ciphertext included), so verification needs no decryption key.
import { createHash } from 'node:crypto';
import type { AuditEventsTable } from '../db/schema.ts';

export const GENESIS_HASH = '0'.repeat(64);

export type ChainedFields = Omit<AuditEventsTable, 'prev_hash' | 'hash'>;

export function canonical(e: ChainedFields): string {
  return JSON.stringify([
    e.tenant_id,
    e.seq,
    e.at,
    e.actor_id,
    e.action,
    e.resource_type,
    e.resource_id,
    e.person_id,
    e.department_id,
    e.outcome,
    e.reason_enc ? Buffer.from(e.reason_enc).toString('base64') : null,
    e.detail,
  ]);
}

export const chainHash = (prevHash: string, e: ChainedFields): string =>
  createHash('sha256').update(prevHash).update('\n').update(canonical(e)).digest('hex');
