// Persons' files. Identifying data is stored only encrypted under the
// person's own key, one immutable row per version; search goes through blind
// indexes. Every function takes a GateContext: it cannot be called before the
// gate has decided and will audit.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { GateContext } from '../access/gate.ts';
import { inTenantTransaction, serialise, type Store, type Tx } from '../db/connect.ts';
import { KarteiError } from '../errors.ts';
import type { Keyring } from '../vault/keyring.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import { openField, sealField } from '../vault/keyring.ts';
import { digest, normaliseName, personDigests, queryDigests } from '../vault/blind-index.ts';
import { koelnerPhonetik } from '../vault/koelner-phonetik.ts';
import type { ExpressionBuilder } from 'kysely';
import type { Database } from '../db/schema.ts';

const isoDate = z.iso.date();

export const personData = z.strictObject({
  familyName: z.string().trim().min(1).max(200),
  givenName: z.string().trim().min(1).max(200),
  birthDate: isoDate.refine((d) => d <= new Date().toISOString().slice(0, 10), {
    message: 'must not lie in the future',
    params: { code: 'date-in-future' },
  }),
  sex: z.enum(['female', 'male', 'diverse', 'unknown']).optional(),
  /** The Patient ID (0010,0020) the department's devices send for this person: studies with it link to this file. Empty: none. */
  dicomPatientId: z.string().trim().max(64).optional(),
  address: z
    .strictObject({
      street: z.string().max(200).optional(),
      postalCode: z.string().max(20).optional(),
      city: z.string().max(200).optional(),
      country: z.string().max(100).optional(),
    })
    .optional(),
});
export type PersonData = z.infer<typeof personData>;

/** A file as it is answered: its row's facts and its current data. */
const viewOf = (
  p: { id: string; department_id: string; version: number; created_at: string; updated_at: string },
  data: PersonData,
): PersonView => ({
  id: p.id,
  departmentId: p.department_id,
  ...data,
  version: p.version,
  createdAt: p.created_at,
  updatedAt: p.updated_at,
});

/** The office's files, each with its current version's sealed data. */
const currentFiles = (tx: Tx, tenantId: string) =>
  tx
    .selectFrom('persons')
    .innerJoin('person_versions', (j) =>
      j.onRef('person_versions.person_id', '=', 'persons.id').onRef('person_versions.version', '=', 'persons.version'),
    )
    .selectAll('persons')
    .select('person_versions.data_enc')
    .where('persons.tenant_id', '=', tenantId);

/** A file the blind index holds under one of `digests`. */
const indexedUnder = (tenantId: string, digests: string[]) => (eb: ExpressionBuilder<Database, 'persons'>) =>
  eb(
    'persons.id',
    'in',
    eb.selectFrom('person_index').select('person_id').where('tenant_id', '=', tenantId).where('digest', 'in', digests),
  );

export interface PersonView extends PersonData {
  id: string;
  departmentId: string;
  version: number;
  createdAt: string;
  updatedAt: string;
}

const dataBinding = (tenantId: string, personId: string, version: number) => ({
  tenantId,
  table: 'person_versions',
  rowId: `${personId}:${version}`,
  field: 'data',
});

export class Persons {
  private readonly keyring: Keyring;
  constructor(keyring: Keyring) {
    this.keyring = keyring;
  }

  async create(ctx: GateContext, departmentId: string, data: PersonData): Promise<string> {
    const { tx, principal } = ctx;
    const tenantId = principal.tenantId;
    const id = randomUUID();
    await tx
      .insertInto('persons')
      .values({
        id,
        tenant_id: tenantId,
        department_id: departmentId,
        version: 1,
        created_at: ctx.now,
        created_by: principal.userId,
        updated_at: ctx.now,
      })
      .execute();
    await this.keyring.createPersonKey(tx, tenantId, departmentId, id);
    await this.writeVersion(ctx, id, departmentId, 1, data);
    ctx.audit.personId = id;
    ctx.audit.resourceId = id;
    return id;
  }

  async get(ctx: GateContext, personId: string): Promise<PersonView> {
    const { tx, principal } = ctx;
    const p = await tx
      .selectFrom('persons')
      .selectAll()
      .where('id', '=', personId)
      .where('tenant_id', '=', principal.tenantId)
      .executeTakeFirstOrThrow();
    if (p.merged_into) throw mergedAway(p.merged_into, p.merge_id);
    const data = await this.readVersion(tx, principal.tenantId, p.department_id, personId, p.version);
    return viewOf(p, data);
  }

  // Issue 16: person merge
  /** Takes a file merged into another out of every blind-index lookup (search, study linking, matching). */
  async dropIndex(ctx: GateContext, personId: string): Promise<void> {
    await ctx.tx
      .deleteFrom('person_index')
      .where('person_id', '=', personId)
      .where('tenant_id', '=', ctx.principal.tenantId)
      .execute();
  }

  /** Indexes a file again from its current data version (a merge undone). */
  async restoreIndex(ctx: GateContext, personId: string): Promise<void> {
    const { tx, principal } = ctx;
    const p = await tx
      .selectFrom('persons')
      .select(['department_id', 'version'])
      .where('id', '=', personId)
      .where('tenant_id', '=', principal.tenantId)
      .executeTakeFirstOrThrow();
    const data = await this.readVersion(tx, principal.tenantId, p.department_id, personId, p.version);
    await writePersonIndex(tx, this.keyring, principal.tenantId, personId, data);
  }

  /** Applies a change on top of `version`; a stale version answers 409 with the current one. */
  async update(ctx: GateContext, personId: string, version: number, patch: Partial<PersonData>): Promise<PersonView> {
    const current = await this.get(ctx, personId);
    if (current.version !== version) throw stale(current.version);
    const { id: _i, departmentId, version: _v, createdAt: _c, updatedAt: _u, ...data } = current;
    const next = personData.parse({ ...data, ...patch });
    const moved = await ctx.tx
      .updateTable('persons')
      .set({ version: version + 1, updated_at: ctx.now })
      .where('id', '=', personId)
      .where('version', '=', version)
      .executeTakeFirst();
    if (Number(moved.numUpdatedRows) !== 1) throw stale(version + 1);
    await this.writeVersion(ctx, personId, departmentId, version + 1, next);
    return { ...current, ...next, version: version + 1, updatedAt: ctx.now };
  }

  /**
   * Files the caller may see whose family name (whole, a word of it, or how it sounds), given
   * name or birth date match every word of `q`; by id, `limit` of them after the id `after`.
   */
  async search(ctx: GateContext, q: string, limit: number, after?: string): Promise<PersonView[]> {
    const { tx, principal } = ctx;
    const tenantId = principal.tenantId;
    const key = await this.keyring.indexKey(tx, tenantId);
    // A term that normalises to several words ("Meyer-Schmidt") matches as a whole
    // name or word by word, as the index splits names: else no exact full name
    // with such a term in it ("Meyer-Schmidt von Berg") could be found.
    const terms = q
      .split(/\s+/)
      .map((term) => {
        const words = /^[\d.-]+$/.test(term) ? [] : normaliseName(term).split(' ');
        return {
          whole: queryDigests(key, term),
          words: words.length > 1 ? words.map((w) => queryDigests(key, w)) : [],
        };
      })
      .filter((t) => t.whole.length > 0);
    if (terms.length === 0) return [];
    const depts = principal.memberships.map((m) => m.departmentId);
    // One query: every word must match some index entry, and the file must be visible.
    let query = currentFiles(tx, tenantId);
    for (const term of terms) {
      query = query.where((eb) => {
        const matches = (digests: string[]) => indexedUnder(tenantId, digests)(eb);
        return term.words.length ? eb.or([matches(term.whole), eb.and(term.words.map(matches))]) : matches(term.whole);
      });
    }
    const visible = await query
      .where((eb) =>
        eb.or([
          eb('persons.department_id', 'in', depts),
          eb(
            'persons.id',
            'in',
            eb
              .selectFrom('shares')
              .select('person_id')
              .where('to_department_id', 'in', depts)
              .where('revoked_at', 'is', null)
              .where('until', '>', ctx.now),
          ),
          eb(
            'persons.id',
            'in',
            eb
              .selectFrom('break_glass')
              .select('person_id')
              .where('user_id', '=', principal.userId)
              .where('expires_at', '>', ctx.now),
          ),
        ]),
      )
      .$if(after !== undefined, (qb) => qb.where('persons.id', '>', after!))
      .orderBy('persons.id')
      .limit(limit)
      .execute();
    return this.decrypt(tx, tenantId, visible);
  }

  /**
   * The emergency search (src/records/emergency-search.ts): files of the departments the
   * caller is not in whose birth date is `birthDate` and whose family name has every word
   * of `familyName`, exactly or as it sounds (Kölner Phonetik). Given names do not match.
   */
  async findElsewhere(ctx: GateContext, familyName: string, birthDate: string, limit: number): Promise<PersonView[]> {
    const depts = ctx.principal.memberships.map((m) => m.departmentId);
    return this.byNameAndBirth(ctx, familyName, birthDate, limit, depts);
  }

  /**
   * The DPO's search for an access report (Art. 15 GDPR): files of every department whose
   * birth date is `birthDate` and whose family name has every word of `familyName`,
   * exactly or as it sounds. The caller answers only what identifies the files.
   */
  async findForDisclosure(
    ctx: GateContext,
    familyName: string,
    birthDate: string,
    limit: number,
  ): Promise<PersonView[]> {
    const found = await this.byNameAndBirth(ctx, familyName, birthDate, limit, []);
    // A file merged into one of these is out of the index, but its accesses are the person's too (issue 16).
    const ids = found.map((p) => p.id);
    const absorbed = ids.length
      ? await currentFiles(ctx.tx, ctx.principal.tenantId)
          .where('persons.merged_into', 'in', ids)
          .orderBy('persons.id')
          .execute()
      : [];
    return [...found, ...(await this.decrypt(ctx.tx, ctx.principal.tenantId, absorbed))];
  }

  /**
   * Files whose birth date is `birthDate` and whose family name has every word of `familyName`,
   * exactly or as it sounds, outside the departments `excluded`.
   */
  private async byNameAndBirth(
    ctx: GateContext,
    familyName: string,
    birthDate: string,
    limit: number,
    excluded: string[],
  ): Promise<PersonView[]> {
    const { tx, principal } = ctx;
    const tenantId = principal.tenantId;
    const key = await this.keyring.indexKey(tx, tenantId);
    const words = normaliseName(familyName).split(' ').filter(Boolean);
    if (words.length === 0) return [];
    let query = currentFiles(tx, tenantId).where(indexedUnder(tenantId, [digest(key, 'birth', birthDate)]));
    if (excluded.length) query = query.where('persons.department_id', 'not in', excluded);
    for (const word of words) {
      const code = koelnerPhonetik(word);
      query = query.where(
        indexedUnder(tenantId, [digest(key, 'family', word), ...(code ? [digest(key, 'phonetic', code)] : [])]),
      );
    }
    return this.decrypt(tx, tenantId, await query.orderBy('persons.id').limit(limit).execute());
  }

  /** The current data of these files (an access report's heading); the gate has decided on them already. */
  async identify(ctx: GateContext, ids: string[]): Promise<PersonView[]> {
    const { tx, principal } = ctx;
    const tenantId = principal.tenantId;
    const rows = await currentFiles(tx, tenantId)
      .where('persons.id', 'in', ids.length ? ids : [''])
      .orderBy('persons.id')
      .execute();
    return this.decrypt(tx, tenantId, rows);
  }

  private async decrypt(
    tx: Tx,
    tenantId: string,
    visible: {
      id: string;
      department_id: string;
      version: number;
      data_enc: Buffer;
      created_at: string;
      updated_at: string;
    }[],
  ): Promise<PersonView[]> {
    await this.keyring.preloadPersonKeys(
      tx,
      tenantId,
      visible.map((p) => ({ departmentId: p.department_id, personId: p.id })),
    );
    const out: PersonView[] = [];
    for (const p of visible) {
      const key = await this.keyring.personKey(tx, tenantId, p.department_id, p.id);
      const data = openField<PersonData>(key, dataBinding(tenantId, p.id, p.version), p.data_enc);
      out.push(viewOf(p, data));
    }
    return out;
  }

  private async writeVersion(
    ctx: GateContext,
    personId: string,
    departmentId: string,
    version: number,
    data: PersonData,
  ) {
    const { tx, principal } = ctx;
    const tenantId = principal.tenantId;
    const key = await this.keyring.personKey(tx, tenantId, departmentId, personId);
    await tx
      .insertInto('person_versions')
      .values({
        person_id: personId,
        version,
        tenant_id: tenantId,
        data_enc: sealField(key, dataBinding(tenantId, personId, version), data),
        created_at: ctx.now,
        created_by: principal.userId,
      })
      .execute();
    await writePersonIndex(tx, this.keyring, tenantId, personId, data);
  }

  private async readVersion(
    tx: Tx,
    tenantId: string,
    departmentId: string,
    personId: string,
    version: number,
  ): Promise<PersonData> {
    const row = await tx
      .selectFrom('person_versions')
      .select('data_enc')
      .where('person_id', '=', personId)
      .where('version', '=', version)
      .executeTakeFirstOrThrow();
    const key = await this.keyring.personKey(tx, tenantId, departmentId, personId);
    return openField<PersonData>(key, dataBinding(tenantId, personId, version), row.data_enc);
  }
}

/** Replaces a file's blind-index entries with those of `data`. */
async function writePersonIndex(tx: Tx, keyring: Keyring, tenantId: string, personId: string, data: PersonData) {
  await tx.deleteFrom('person_index').where('person_id', '=', personId).execute();
  const indexKey = await keyring.indexKey(tx, tenantId);
  const rows = personDigests(indexKey, data).map((d) => ({
    tenant_id: tenantId,
    person_id: personId,
    kind: d.kind,
    digest: d.digest,
  }));
  await tx.insertInto('person_index').values(rows).execute();
}

/** The name `upgradePersonIndex` records itself under once finished. */
const PERSON_INDEX_UPGRADE = 'person-index-links';

/**
 * Files indexed before studies were linked by transliterated name and Patient ID
 * (issue 14) lack those entries: each is read and indexed again, once, at start.
 * Whoever holds the keys runs it (the server), so a migration cannot. Once every
 * office is done it is recorded (`store_upgrades`, migration 032) and a later start
 * reads nothing but that row (issue 18: the look for such files read every file, and
 * filled SQLite's page cache, at every start). Audited per office with the count.
 * Answers how many files it indexed.
 */
export async function upgradePersonIndex(store: Store, keyring: Keyring, audit: AuditLog): Promise<number> {
  const finished = await store.db
    .selectFrom('store_upgrades')
    .select('name')
    .where('name', '=', PERSON_INDEX_UPGRADE)
    .executeTakeFirst();
  if (finished) return 0;
  const tenants = await store.db.selectFrom('tenants').select('id').execute();
  let done = 0;
  for (const { id: tenantId } of tenants) {
    done += await inTenantTransaction(store, tenantId, async (tx) => {
      // Issue 19: instances — two instances starting together upgrade each office one after the other
      // (PostgreSQL): the second reads after the first committed and finds nothing left to index.
      await serialise(tx, `kartei.person-index-upgrade:${tenantId}`);
      const rows = await tx
        .selectFrom('persons')
        .innerJoin('person_versions', (j) =>
          j
            .onRef('person_versions.person_id', '=', 'persons.id')
            .onRef('person_versions.version', '=', 'persons.version'),
        )
        .select(['persons.id', 'persons.department_id', 'persons.version', 'person_versions.data_enc'])
        .where('persons.tenant_id', '=', tenantId)
        // A file merged into another stays out of the index (issue 16).
        .where('persons.merged_into', 'is', null)
        .where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom('person_index')
                .select('person_id')
                .whereRef('person_index.person_id', '=', 'persons.id')
                .where('person_index.kind', '=', 'link'),
            ),
          ),
        )
        .execute();
      for (const p of rows) {
        const key = await keyring.personKey(tx, tenantId, p.department_id, p.id);
        await writePersonIndex(
          tx,
          keyring,
          tenantId,
          p.id,
          openField<PersonData>(key, dataBinding(tenantId, p.id, p.version), p.data_enc),
        );
      }
      // The server read these files without a caller: on the record, in the same transaction.
      if (rows.length > 0)
        await audit.append(tx, {
          tenantId,
          actorId: null,
          action: 'system.person-index',
          resourceType: 'tenant',
          resourceId: tenantId,
          outcome: 'allowed',
          detail: { files: rows.length },
        });
      return rows.length;
    });
  }
  // Every office is done (a file written from now on is indexed with its `link` entries): never again.
  await store.db
    .insertInto('store_upgrades')
    .values({ name: PERSON_INDEX_UPGRADE, done_at: new Date().toISOString() })
    .onConflict((c) => c.column('name').doNothing())
    .execute();
  return done;
}

// Issue 16: person merge
/** Reading a file merged into another: where it went (the web follows it), never its data. */
const mergedAway = (mergedInto: string, mergeId: string | null) =>
  new KarteiError('person-merged', `the file was merged into ${mergedInto}`, { mergedInto, mergeId });

/**
 * Holds writes to a file's records until this transaction ends, so a merge moving them and a record written
 * meanwhile cannot interleave (PostgreSQL; SQLite runs one write transaction at a time anyway).
 */
export const lockFile = (ctx: GateContext, personId: string) => serialise(ctx.tx, `kartei.person-file:${personId}`);

/** Refuses work on a file merged into another (pending or confirmed): it takes nothing new. */
export async function refuseMerged(ctx: GateContext, personId: string): Promise<void> {
  const p = await ctx.tx
    .selectFrom('persons')
    .select(['merged_into', 'merge_id'])
    .where('id', '=', personId)
    .where('tenant_id', '=', ctx.principal.tenantId)
    .executeTakeFirst();
  if (p?.merged_into) throw mergedAway(p.merged_into, p.merge_id);
}

export const stale = (current: number) =>
  new KarteiError('stale-version', `version: the resource is at version ${current}`, {
    field: 'version',
    currentVersion: current,
  });
