// Suggests which file of the inbox's own department a notification is about, by the blind index
// alone: the notified person's digests (family name whole and by word, each word's Kölner Phonetik,
// given name, birth date, and the transliterated full name with birth date — src/vault/blind-index.ts)
// are looked up in one indexed query limited to the department's files (the given name only as a check
// on the files found by the others: alone it scores nothing); only the best few candidates are
// decrypted (their keys preloaded together). Another department's files are never read or counted.
import type { GateContext } from '../access/gate.ts';
import type { NotifiedPerson } from '../demis/codec/notification.ts';
import type { Persons } from '../records/persons.ts';
import { personDigests, type IndexKind } from '../vault/blind-index.ts';
import type { Keyring } from '../vault/keyring.ts';

export type MatchPart = 'link' | 'family' | 'phonetic' | 'given' | 'birth';

/** Suggestions shown; candidates decrypted at most (the benchmark holds it to one query plus this many). */
const SHOWN = 5;

/**
 * The score of what agreed: the transliterated full name with birth date (Müller = Mueller) 100,
 * family + given + birth 90, family + birth 75, phonetic family + birth 70, family + given 50,
 * phonetic + given 45, birth + given 40, family alone 20, phonetic alone 15, birth alone 10.
 */
function scoreOf(parts: ReadonlySet<MatchPart>): number {
  const has = (p: MatchPart) => parts.has(p);
  if (has('link')) return 100;
  if (has('family') && has('given') && has('birth')) return 90;
  if (has('family') && has('birth')) return 75;
  if (has('phonetic') && has('birth')) return has('given') ? 80 : 70;
  if (has('family') && has('given')) return 50;
  if (has('phonetic') && has('given')) return 45;
  if (has('birth') && has('given')) return 40;
  if (has('family')) return 20;
  if (has('phonetic')) return 15;
  if (has('birth')) return 10;
  return 0;
}

const FULL_DATE = /^\d{4}-\d{2}-\d{2}$/;

/** The scored files of the caller's decided department that may be the notified person, best first. */
export async function matchPerson(
  ctx: GateContext,
  deps: { keyring: Keyring; persons: Persons },
  departmentId: string,
  person: NotifiedPerson,
) {
  const tenantId = ctx.principal.tenantId;
  const key = await deps.keyring.indexKey(ctx.tx, tenantId);
  // A partial birth date (DEMIS allows `1961` or `1961-04`) matches no file's full one: it is left out.
  const wanted = personDigests(key, {
    familyName: person.familyName ?? '',
    givenName: person.givenName ?? '',
    birthDate: person.birthDate && FULL_DATE.test(person.birthDate) ? person.birthDate : '',
  }).filter((d) => d.kind !== 'patient-id');
  if (wanted.length === 0) return [];
  const kindOf = new Map(wanted.map((d) => [d.digest, d.kind]));
  // The given name alone scores nothing, and a common one (Maria) is shared by thousands of files:
  // it is not looked up on its own, only asked of the files that agree on something else.
  const given = wanted.find((d) => d.kind === 'given')?.digest;
  const others = wanted.filter((d) => d.kind !== 'given').map((d) => d.digest);
  if (others.length === 0) return [];
  const rows = await ctx.tx
    .selectFrom('person_index')
    .innerJoin('persons', 'persons.id', 'person_index.person_id')
    .select(['person_index.person_id', 'person_index.digest'])
    .$if(given !== undefined, (q) =>
      q.select((eb) =>
        eb
          .exists(
            eb
              .selectFrom('person_index as g')
              .select('g.person_id')
              .where('g.tenant_id', '=', tenantId)
              .where('g.digest', '=', given!)
              .whereRef('g.person_id', '=', 'person_index.person_id'),
          )
          .as('given'),
      ),
    )
    .where('person_index.tenant_id', '=', tenantId)
    .where('persons.tenant_id', '=', tenantId)
    .where('persons.department_id', '=', departmentId)
    .where('person_index.digest', 'in', others)
    .execute();
  const parts = new Map<string, Set<MatchPart>>();
  for (const r of rows) {
    const kind = kindOf.get(r.digest) as IndexKind | undefined;
    if (!kind || kind === 'patient-id' || kind === 'accession') continue;
    const set = parts.get(r.person_id) ?? new Set<MatchPart>();
    set.add(kind);
    // SQLite answers 1 or 0, PostgreSQL true or false.
    if ('given' in r && (r.given === true || Number(r.given) === 1)) set.add('given');
    parts.set(r.person_id, set);
  }
  const ranked = [...parts]
    .map(([personId, agreed]) => ({ personId, agreed, score: scoreOf(agreed) }))
    .filter((c) => c.score > 0)
    .sort((a, b) => b.score - a.score || (a.personId < b.personId ? -1 : 1))
    .slice(0, SHOWN);
  if (ranked.length === 0) return [];
  const files = new Map(
    (
      await deps.persons.identify(
        ctx,
        ranked.map((c) => c.personId),
      )
    ).map((f) => [f.id, f]),
  );
  const order: MatchPart[] = ['link', 'family', 'phonetic', 'given', 'birth'];
  const out = ranked.flatMap((c) => {
    const f = files.get(c.personId);
    if (!f) return [];
    return [
      {
        personId: c.personId,
        score: c.score,
        agreed: order.filter((p) => c.agreed.has(p)),
        familyName: f.familyName,
        givenName: f.givenName,
        birthDate: f.birthDate,
        ...(f.address ? { address: f.address } : {}),
      },
    ];
  });
  // The files shown are on each person's access report.
  ctx.audit.hits = out.map((m) => ({ personId: m.personId, departmentId }));
  ctx.audit.detail = { candidates: parts.size, shown: out.length };
  return out;
}
