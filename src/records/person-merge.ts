// Two files of one department found to be one person, merged (issue 16): the absorbed file's records
// (every version, deleted ones too, re-sealed under the surviving file's person key), its IfSG case
// facts and its studies move to the survivor in one gated transaction, decided and audited on both
// files. The absorbed file keeps its own data versions and key, leaves every blind-index lookup and
// answers "merged into …". Pending until a physician or head who did not merge confirms (four eyes);
// until then undo moves exactly what moved back, re-sealed under the absorbed key again.
import { randomUUID } from 'node:crypto';
import type { GateContext } from '../access/gate.ts';
import type { Tx } from '../db/connect.ts';
import { KarteiError, fieldRefused } from '../errors.ts';
import { restrictedListing } from '../identity/departments.ts';
import { displayNames } from '../identity/users.ts';
import type { Keyring } from '../vault/keyring.ts';
import type { Persons } from './persons.ts';
import { claim, fileCounts, lockBoth, moveRecords, moveStudies, type FileCounts } from './person-merge-moves.ts';

type MergeState = 'pending' | 'confirmed' | 'undone';

/** Where the decided file's department hides restricted records from the caller, who may not read them: counted out too. */
const normalOnly = async (ctx: GateContext) =>
  !ctx.may('record.read', 'restricted') && (await restrictedListing(ctx, ctx.target.departmentId!)) === 'hidden';

/** What a merge moved: exactly this goes back on undo. */
interface Moved {
  records: string[];
  studies: string[];
  /** Rows of other parts (`MergeParticipant`), by the name they are registered under. */
  others: Record<string, string[]>;
}

/**
 * Another part's rows keyed by a person (a contact, a notification matched to a file): moved with the
 * records in the merge's transaction, and exactly those back on undo. Registered in src/services.ts.
 */
export interface MergeParticipant {
  /** Moves this part's rows of file `from` to file `to`; answers the ids it moved (ids only: kept with the merge). */
  move(ctx: GateContext, from: string, to: string): Promise<string[]>;
  /** Moves exactly these rows back from `from` to `to` (the undo). */
  moveBack(ctx: GateContext, ids: string[], from: string, to: string): Promise<void>;
  /** If set, the merge's and the undo's audit events name the rows it moved under this key. */
  audited?: string;
}

export interface MergeView {
  id: string;
  departmentId: string;
  survivorId: string;
  absorbedId: string;
  state: MergeState;
  records: number;
  studies: number;
  createdBy: string;
  createdByName: string | null;
  createdAt: string;
  decidedBy: string | null;
  decidedByName: string | null;
  decidedAt: string | null;
  version: number;
  /** What the caller may do with it now. */
  confirm: boolean;
  undo: boolean;
}

type MergeRow = {
  id: string;
  department_id: string;
  survivor_id: string;
  absorbed_id: string;
  state: string;
  moved: string;
  created_by: string;
  created_at: string;
  decided_by: string | null;
  decided_at: string | null;
  version: number;
};

const staleMerge = (current: number) =>
  new KarteiError('stale-version', `version: the merge is at version ${current}`, {
    field: 'version',
    currentVersion: current,
  });

export class PersonMerges {
  private readonly keyring: Keyring;
  private readonly persons: Persons;
  private readonly participants: Record<string, MergeParticipant>;
  constructor(keyring: Keyring, persons: Persons, participants: Record<string, MergeParticipant> = {}) {
    this.keyring = keyring;
    this.persons = persons;
    this.participants = participants;
  }

  /**
   * Merges `absorbedId` into the file the gate decided on (`person.merge`); the absorbed file is
   * decided inside the same transaction. Both files at the versions the caller compared.
   */
  async merge(
    ctx: GateContext,
    input: { absorbedId: string; survivorVersion: number; absorbedVersion: number },
  ): Promise<MergeView> {
    const { tx, principal } = ctx;
    const tenantId = principal.tenantId;
    const survivorId = ctx.target.personId!;
    const departmentId = ctx.target.departmentId!;
    if (input.absorbedId === survivorId)
      throw fieldRefused('validation-failed', 'absorbedId', 'merge-self', 'a file cannot be merged into itself');
    const absorbed = await ctx.also('person.merge', { kind: 'person', personId: input.absorbedId });
    if (absorbed.departmentId !== departmentId)
      throw fieldRefused(
        'validation-failed',
        'absorbedId',
        'merge-other-department',
        'the file belongs to another department: only files of one department are merged',
      );
    const id = randomUUID();
    await lockBoth(ctx, survivorId, input.absorbedId);
    // Claim both files, in id order (two crossing merges wait on the same row first, never on each other).
    const claims = [
      { personId: survivorId, version: input.survivorVersion, field: 'survivorVersion' },
      { personId: input.absorbedId, version: input.absorbedVersion, field: 'absorbedVersion' },
    ].sort((a, b) => (a.personId < b.personId ? -1 : 1));
    for (const c of claims) await claim(ctx, id, c.personId, c.version, c.field);
    await tx
      .updateTable('persons')
      .set({ merged_into: survivorId })
      .where('id', '=', input.absorbedId)
      .where('tenant_id', '=', tenantId)
      .execute();
    const from = await this.key(tx, tenantId, departmentId, input.absorbedId);
    const to = await this.key(tx, tenantId, departmentId, survivorId);
    const records = await tx
      .selectFrom('records')
      .select('id')
      .where('tenant_id', '=', tenantId)
      .where('person_id', '=', input.absorbedId)
      .orderBy('id')
      .execute();
    const versions = await moveRecords(
      ctx,
      records.map((r) => r.id),
      input.absorbedId,
      survivorId,
      from,
      to,
    );
    const studies = await tx
      .selectFrom('studies')
      .select('id')
      .where('tenant_id', '=', tenantId)
      .where('person_id', '=', input.absorbedId)
      .orderBy('id')
      .execute();
    await moveStudies(
      ctx,
      studies.map((s) => s.id),
      input.absorbedId,
      survivorId,
    );
    const others: Record<string, string[]> = {};
    for (const [name, part] of Object.entries(this.participants))
      others[name] = await part.move(ctx, input.absorbedId, survivorId);
    await this.persons.dropIndex(ctx, input.absorbedId);
    const moved: Moved = { records: records.map((r) => r.id), studies: studies.map((s) => s.id), others };
    await tx
      .insertInto('person_merges')
      .values({
        id,
        tenant_id: tenantId,
        department_id: departmentId,
        survivor_id: survivorId,
        absorbed_id: input.absorbedId,
        state: 'pending',
        moved: JSON.stringify(moved),
        created_by: principal.userId,
        created_at: ctx.now,
        decided_by: null,
        decided_at: null,
        version: 1,
      })
      .execute();
    ctx.audit.detail = {
      mergeId: id,
      survivorId,
      absorbedId: input.absorbedId,
      records: moved.records.length,
      versions,
      studies: moved.studies.length,
      ...this.audited(others),
    };
    return this.view(ctx, await this.row(tx, tenantId, id));
  }

  /** Confirms a pending merge (`person.merge-confirm` on both files): never by whoever merged. */
  async confirm(ctx: GateContext, mergeId: string, version: number): Promise<MergeView> {
    const { tx, principal } = ctx;
    const m = await this.pending(ctx, mergeId, version, 'person.merge-confirm');
    if (m.created_by === principal.userId)
      throw new KarteiError('forbidden', 'id: a second person confirms a merge, not the one who merged', {
        field: 'id',
        errors: [{ field: 'id', code: 'merge-own' }],
      });
    await this.decided(ctx, m, 'confirmed');
    // The survivor may take part in another merge now; the absorbed file stays merged, for good.
    await tx
      .updateTable('persons')
      .set({ merge_id: null })
      .where('id', '=', m.survivor_id)
      .where('merge_id', '=', m.id)
      .execute();
    ctx.audit.detail = { mergeId: m.id, survivorId: m.survivor_id, absorbedId: m.absorbed_id };
    return this.view(ctx, await this.row(tx, principal.tenantId, m.id));
  }

  /** Undoes a pending merge: what moved goes back, re-sealed under the absorbed file's key; the file is found again. */
  async undo(ctx: GateContext, mergeId: string, version: number): Promise<MergeView> {
    const { tx, principal } = ctx;
    const tenantId = principal.tenantId;
    const m = await this.pending(ctx, mergeId, version, 'person.merge-undo');
    // Whoever merged, or whoever may confirm (a physician or head of the department): not any other clerk.
    if (m.created_by !== principal.userId && !ctx.may('person.merge-confirm')) throw new KarteiError('forbidden');
    const moved = JSON.parse(m.moved) as Moved;
    const from = await this.key(tx, tenantId, m.department_id, m.survivor_id);
    const to = await this.key(tx, tenantId, m.department_id, m.absorbed_id);
    const versions = await moveRecords(ctx, moved.records, m.survivor_id, m.absorbed_id, from, to);
    const studies = await moveStudies(ctx, moved.studies, m.survivor_id, m.absorbed_id);
    for (const [name, ids] of Object.entries(moved.others ?? {})) {
      const part = this.participants[name];
      if (!part) throw new Error(`the merge moved rows of ${name}, which is not registered`);
      await part.moveBack(ctx, ids, m.survivor_id, m.absorbed_id);
    }
    await this.decided(ctx, m, 'undone');
    await tx
      .updateTable('persons')
      .set({ merge_id: null, merged_into: null })
      .where('id', 'in', [m.survivor_id, m.absorbed_id])
      .where('tenant_id', '=', tenantId)
      .where('merge_id', '=', m.id)
      .execute();
    await this.persons.restoreIndex(ctx, m.absorbed_id);
    ctx.audit.detail = {
      mergeId: m.id,
      survivorId: m.survivor_id,
      absorbedId: m.absorbed_id,
      records: moved.records.length,
      versions,
      studies,
      ...this.audited(moved.others ?? {}),
    };
    return this.view(ctx, await this.row(tx, tenantId, m.id));
  }

  /** The merges a file took part in (either side), newest first, with what the caller may do with each. */
  async list(ctx: GateContext, personId: string): Promise<{ merges: MergeView[]; counts: FileCounts }> {
    const { tx, principal } = ctx;
    const rows = await tx
      .selectFrom('person_merges')
      .selectAll()
      .where('tenant_id', '=', principal.tenantId)
      .where((eb) => eb.or([eb('survivor_id', '=', personId), eb('absorbed_id', '=', personId)]))
      .orderBy('created_at', 'desc')
      .orderBy('id')
      .limit(100)
      .execute();
    const merges = await this.views(ctx, rows);
    const counts = await fileCounts(tx, principal.tenantId, personId, await normalOnly(ctx));
    ctx.audit.detail = { count: merges.length };
    return { merges, counts };
  }

  /** The merge, pending, at `version`, with its absorbed file decided for `action` too. */
  private async pending(
    ctx: GateContext,
    mergeId: string,
    version: number,
    action: 'person.merge-confirm' | 'person.merge-undo',
  ): Promise<MergeRow> {
    const first = await this.row(ctx.tx, ctx.principal.tenantId, mergeId);
    await ctx.also(action, { kind: 'person', personId: first.absorbed_id });
    await lockBoth(ctx, first.survivor_id, first.absorbed_id);
    // Read again under the lock: a confirm and an undo at once see each other's end.
    const m = await this.row(ctx.tx, ctx.principal.tenantId, mergeId);
    if (m.state !== 'pending')
      throw fieldRefused('conflict', 'id', 'already-decided', `the merge is ${m.state} already`);
    if (m.version !== version) throw staleMerge(m.version);
    return m;
  }

  /** Ends a pending merge, if no one else ended it first (409 otherwise). */
  private async decided(ctx: GateContext, m: MergeRow, state: 'confirmed' | 'undone') {
    const done = await ctx.tx
      .updateTable('person_merges')
      .set({ state, decided_by: ctx.principal.userId, decided_at: ctx.now, version: m.version + 1 })
      .where('id', '=', m.id)
      .where('state', '=', 'pending')
      .where('version', '=', m.version)
      .executeTakeFirst();
    if (Number(done.numUpdatedRows) !== 1) throw staleMerge(m.version + 1);
  }

  /**
   * Where the department hides restricted records from the caller (normalOnly): per merge, how many of the records
   * it moved are normal — the count a merge shows must not tell of what the file's list and comparison leave out.
   */
  private async recordsShown(ctx: GateContext, rows: MergeRow[]): Promise<Map<string, number> | null> {
    if (rows.length === 0 || !(await normalOnly(ctx))) return null;
    const shown = new Map<string, number>();
    for (const m of rows) {
      const ids = (JSON.parse(m.moved) as Moved).records;
      let n = 0;
      for (let i = 0; i < ids.length; i += 500) {
        const row = await ctx.tx
          .selectFrom('records')
          .select((eb) => eb.fn.countAll<number | string>().as('n'))
          .where('tenant_id', '=', ctx.principal.tenantId)
          .where('id', 'in', ids.slice(i, i + 500))
          .where('sensitivity', '=', 'normal')
          .executeTakeFirst();
        n += Number(row?.n ?? 0);
      }
      shown.set(m.id, n);
    }
    return shown;
  }

  /** The rows of parts that name them in the audit event (`MergeParticipant.audited`), where there are any. */
  private audited(others: Record<string, string[]>): Record<string, string[]> {
    const named: Record<string, string[]> = {};
    for (const [name, ids] of Object.entries(others)) {
      const as = this.participants[name]?.audited;
      if (as && ids.length) named[as] = ids;
    }
    return named;
  }

  private key(tx: Tx, tenantId: string, departmentId: string, personId: string) {
    return this.keyring.personKey(tx, tenantId, departmentId, personId);
  }

  private async row(tx: Tx, tenantId: string, id: string): Promise<MergeRow> {
    const m = await tx
      .selectFrom('person_merges')
      .selectAll()
      .where('id', '=', id)
      .where('tenant_id', '=', tenantId)
      .executeTakeFirst();
    if (!m) throw new KarteiError('not-found');
    return m;
  }

  private async view(ctx: GateContext, m: MergeRow): Promise<MergeView> {
    return (await this.views(ctx, [m]))[0]!;
  }

  private async views(ctx: GateContext, rows: MergeRow[]): Promise<MergeView[]> {
    const me = ctx.principal.userId;
    const recordsShown = await this.recordsShown(ctx, rows);
    const names = await displayNames(
      ctx,
      this.keyring,
      rows.flatMap((m) => [m.created_by, ...(m.decided_by ? [m.decided_by] : [])]),
    );
    const senior = ctx.may('person.merge-confirm');
    return rows.map((m) => {
      const moved = JSON.parse(m.moved) as Moved;
      const pending = m.state === 'pending';
      return {
        id: m.id,
        departmentId: m.department_id,
        survivorId: m.survivor_id,
        absorbedId: m.absorbed_id,
        state: m.state as MergeState,
        records: recordsShown?.get(m.id) ?? moved.records.length,
        studies: moved.studies.length,
        createdBy: m.created_by,
        createdByName: names.get(m.created_by) ?? null,
        createdAt: m.created_at,
        decidedBy: m.decided_by,
        decidedByName: m.decided_by ? (names.get(m.decided_by) ?? null) : null,
        decidedAt: m.decided_at,
        version: m.version,
        confirm: pending && senior && m.created_by !== me,
        undo: pending && (senior || (m.created_by === me && ctx.may('person.merge-undo'))),
      };
    });
  }
}
