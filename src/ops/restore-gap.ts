// What a restore lost on each chain (issue 19, attack21): the events a witness — the key directory's
// own, or the backup's — saw beyond the heads the restored database holds, and, compared by hash, not
// only by number, the events a witness saw that the database holds OTHER events in place of. The second
// is a database rolled back and grown again past the witness by a running server (a fork): counted by
// sequence numbers alone it lost nothing, while the key directory had seen another history. Where no
// witnessed head below the fork agrees with the database, the gap starts at the chain's first event.
// A witnessed event missing under a head row that claims it (raised over a deleted tail) counts as other.
import fs from 'node:fs';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { lossTolerated, pgOptions } from '../db/pg-connect.ts'; // s27: a time limit on new connections
import type { Config } from '../config/config.ts';

interface Head {
  seq: number;
  hash: string;
  at: string;
}

export interface Witnessed {
  chains?: Record<string, Head & { keyId?: string }>;
  refused?: Record<string, unknown>;
  /**
   * In a witness a restore installed, until it completes: the heads the key directory had witnessed
   * before it. A restore interrupted there and followed by another backup's still counts them.
   */
  beforeRestore?: Record<string, Head>;
}

/** Per chain the furthest head a key directory's witness names, its own or one a restore carried over. */
export function priorHeads(w: Witnessed | undefined): Record<string, Head> {
  const out: Record<string, Head> = {};
  for (const h of [w?.beforeRestore ?? {}, w?.chains ?? {}])
    for (const [chain, head] of Object.entries(h))
      if (!out[chain] || head.seq > out[chain].seq) out[chain] = { seq: head.seq, hash: head.hash, at: head.at };
  return out;
}

export interface ChainGap {
  from: number;
  to: number;
  witnessedAt: string;
}

/**
 * The hash of each event the witnesses name at or below the database's head; undefined: the chain's events
 * are not visible on this connection; ABSENT: they are, and this one is missing (a head row raised over a
 * deleted tail), which no witnessed hash equals.
 */
const ABSENT = '';
type HashAt = (chain: string, seq: number) => string | undefined;

/** The (chain, seq) pairs whose hashes the database must be asked for. */
function wanted(witnesses: (Witnessed | undefined)[], heads: Record<string, number>): [string, number][] {
  const out: [string, number][] = [];
  for (const w of witnesses)
    for (const [chain, h] of Object.entries(w?.chains ?? {}))
      if (h.seq >= 1 && h.seq <= (heads[chain] ?? 0)) out.push([chain, h.seq]);
  return out;
}

const key = (chain: string, seq: number) => `${chain}\u0000${seq}`;

/** The hashes from the SQLite database copy in the backup (read-only) or from the restored PostgreSQL database. */
export async function heldHashes(
  config: Config,
  sqliteFile: string | undefined,
  witnesses: (Witnessed | undefined)[],
  heads: Record<string, number>,
): Promise<HashAt> {
  const pairs = wanted(witnesses, heads);
  const found = new Map<string, string>();
  if (pairs.length > 0 && sqliteFile && fs.existsSync(sqliteFile)) {
    const db = new SQLite(sqliteFile, { readonly: true, fileMustExist: true });
    try {
      const q = db.prepare('select hash from audit_events where tenant_id = ? and seq = ?');
      const any = db.prepare('select 1 as x from audit_events where tenant_id = ? limit 1');
      for (const [chain, seq] of pairs) {
        const r = q.get(chain, seq) as { hash: string } | undefined;
        if (r) found.set(key(chain, seq), r.hash);
        else if (any.get(chain)) found.set(key(chain, seq), ABSENT);
      }
    } finally {
      db.close();
    }
  } else if (pairs.length > 0 && !sqliteFile) {
    const client = lossTolerated(new pg.Client(pgOptions(config.databaseAdminUrl ?? config.databaseUrl)));
    await client.connect();
    try {
      for (const [chain, seq] of pairs) {
        const r = await client.query<{ hash: string }>(
          'select hash from audit_events where tenant_id = $1 and seq = $2',
          [chain, seq],
        );
        if (r.rows[0]) found.set(key(chain, seq), r.rows[0].hash);
        else if ((await client.query('select 1 from audit_events where tenant_id = $1 limit 1', [chain])).rows[0])
          found.set(key(chain, seq), ABSENT);
      }
    } finally {
      await client.end();
    }
  }
  return (chain, seq) => found.get(key(chain, seq));
}

/**
 * Per chain: the furthest witnessed head beyond the restored head, or any witnessed head at or below
 * it whose event the database holds with another hash, makes a gap up to the furthest head; it starts
 * after the highest witnessed head below the first disagreement that the database does hold, else
 * after the restored head (beyond it, nothing disagrees), else at 1.
 */
export function gapSince(
  witnesses: (Witnessed | undefined)[],
  heads: Record<string, number>,
  hashAt: HashAt,
): Record<string, ChainGap> {
  const byChain = new Map<string, Head[]>();
  for (const w of witnesses)
    for (const [chain, h] of Object.entries(w?.chains ?? {})) byChain.set(chain, [...(byChain.get(chain) ?? []), h]);
  const gap: Record<string, ChainGap> = {};
  for (const [chain, seen] of byChain) {
    const head = heads[chain] ?? 0;
    const top = seen.reduce((a, b) => (b.seq > a.seq ? b : a));
    const within = seen.filter((h) => h.seq <= head);
    const differs = (h: Head) => {
      const held = hashAt(chain, h.seq);
      return held !== undefined && held !== h.hash;
    };
    const firstBad = Math.min(...within.filter(differs).map((h) => h.seq));
    if (firstBad === Number.POSITIVE_INFINITY) {
      if (top.seq > head) gap[chain] = { from: head + 1, to: top.seq, witnessedAt: top.at };
      continue;
    }
    const agreed = within.filter((h) => h.seq < firstBad && !differs(h)).map((h) => h.seq);
    gap[chain] = { from: Math.max(0, ...agreed) + 1, to: top.seq, witnessedAt: top.at };
  }
  return gap;
}
