// Searching the archive with audited hits: the one use case C-FIND and
// QIDO-RS both call, inside the gate's transaction. It matches the query in
// each department given (studies through blind indexes, then series and
// instances), takes the page asked for, and puts on the record the match
// count and one event per person's file the page shows, for its access report.
import type { GateContext } from '../access/gate.ts';
import type { Keyring } from '../vault/keyring.ts';
import { Tag } from './dicom/tags.ts';
import { valuesAt, type Level, type Values } from './match-attributes.ts';
import { findInstances, findSeries, findStudies, type StudyQuery } from './study-query.ts';

/** Matches beyond this are not looked at; C-FIND's answer and QIDO-RS's pages end there. */
export const MAX_MATCHES = 5_000;

export interface ArchiveSearch {
  /** The departments searched, in this order. */
  departments: string[];
  level: Level;
  query: StudyQuery;
  offset: number;
  limit: number;
}

/** Matches of one department at a level, each with the file (if any) its study is linked to. */
async function matchesIn(
  ctx: GateContext,
  keyring: Keyring,
  departmentId: string,
  level: Level,
  q: StudyQuery,
  enough: number,
) {
  // At study level a page needs no more studies than it shows; below, a study may hold many matches.
  const studies = await findStudies(
    ctx,
    keyring,
    departmentId,
    q,
    level === 'STUDY' ? Math.min(enough, MAX_MATCHES) : MAX_MATCHES,
  );
  const values = await valuesAt(
    level,
    studies,
    (st) => findSeries(ctx, keyring, departmentId, st, q),
    (se) => findInstances(ctx, se, q),
  );
  const fileOf = new Map(studies.map((st) => [st.studyUid, st.personId]));
  return values.map((v) => ({ v, personId: fileOf.get(v.get(Tag.StudyInstanceUid) as string) ?? null, departmentId }));
}

/** The page asked for; only the files it shows go into their access reports. */
export async function searchArchive(ctx: GateContext, keyring: Keyring, s: ArchiveSearch): Promise<Values[]> {
  const found = [];
  for (const departmentId of s.departments)
    found.push(...(await matchesIn(ctx, keyring, departmentId, s.level, s.query, s.offset + s.limit)));
  const page = found.slice(s.offset, s.offset + s.limit);
  const shown = new Map(page.flatMap((m) => (m.personId ? [[m.personId, m.departmentId] as const] : [])));
  ctx.audit.hits = [...shown].map(([personId, departmentId]) => ({ personId, departmentId }));
  ctx.audit.detail = { level: s.level, matches: found.length, shown: page.length };
  return page.map((m) => m.v);
}
