// Issue 17: letters — bulk runs: one template (its version pinned when the run starts) for a selection of a
// department's files (person ids from a search, or every contact of an outbreak's cases the starter may see: a
// restricted one only for whoever reads restricted records, and only they see it in the run, or count it). Starting a run is
// `letter.bulk` on the department; it writes the run and one item per file (run + person unique). The
// server's LetterRunner then makes the letters in the background, each one `Gate.run('letter.generate')` on its
// file as the person who started the run (with that person's roles as they are now), its item marked done in
// the letter's own transaction — so a run resumed after a crash or restart makes no file's letter twice. A
// refused or failed file is marked with the refusal's code; the counts are the run's progress.
// Issue 19: instances — with several instances on one database, a run is worked by one instance at a time:
// each batch first claims the run for its instance (`runner`: free, its own, or an instance no longer live),
// and every instance looks every SWEEP_MS for running runs nobody live holds, so a run whose instance
// stopped or died goes on elsewhere. (A file is never made twice in any case: its item is marked done in
// the letter's own transaction, only while pending.)
import { randomUUID } from 'node:crypto';
import type { Gate, GateContext } from '../access/gate.ts';
import { decidedDepartment } from '../access/gate.ts';
import type { LetterRunListItem, LetterRunView } from '../contract/letters.ts';
import { inTenantTransaction, serialise, type Store } from '../db/connect.ts';
import { fieldRefused, KarteiError } from '../errors.ts';
import { activeUsersWithRoles, toPrincipal } from '../identity/sessions.ts';
import { readsRestrictedIn } from '../infection/contact-index.ts';
import type { Persons } from '../records/persons.ts';
import type { Letters } from './letters.ts';
import { KIND_RECORDS } from './template-fields.ts';
// Issue 19: instances
import { liveInstanceIds } from '../db/instances.ts';
import type { Templates } from './templates.ts';

/** At most this many files in one run. */
export const MAX_RUN_FILES = 2_000;
/** Items read per turn of the runner. */
const BATCH = 10;

export type RunSelection = { templateId: string } & ({ personIds: string[] } | { outbreakId: string });

export class LetterRuns {
  private readonly templates: Templates;
  private readonly persons: Persons;
  constructor(templates: Templates, persons: Persons) {
    this.templates = templates;
    this.persons = persons;
  }

  /** Writes the run and its items (nothing is made yet); answers the run's id. */
  async start(ctx: GateContext, selection: RunSelection): Promise<string> {
    const departmentId = decidedDepartment(ctx);
    const tenantId = ctx.principal.tenantId;
    const usable = await this.templates.usable(ctx, departmentId);
    const template = usable.find((t) => t.id === selection.templateId);
    if (!template)
      throw fieldRefused(
        'validation-failed',
        'templateId',
        'template-unknown',
        'no template of the office or this department',
      );
    let personIds: string[];
    let outbreakId: string | null = null;
    if ('outbreakId' in selection) {
      const o = await ctx.also('outbreak.read', { kind: 'outbreak', outbreakId: selection.outbreakId });
      if (o.departmentId !== departmentId)
        throw fieldRefused('validation-failed', 'outbreakId', 'not-in-department', 'an outbreak of another department');
      outbreakId = selection.outbreakId;
      // The contact persons of the outbreak's live cases (their files are this department's); a restricted contact
      // only for whoever reads restricted records here — the outbreak's own list leaves it out for the others too.
      personIds = await outbreakContacts(ctx, departmentId, outbreakId, !readsRestrictedIn(ctx, departmentId));
      if (personIds.length > MAX_RUN_FILES)
        throw fieldRefused('validation-failed', 'outbreakId', 'too-many', `more than ${MAX_RUN_FILES} files`, {
          max: MAX_RUN_FILES,
        });
    } else {
      personIds = [...new Set(selection.personIds)];
      // Only files of this department: anything else is refused before anything is written.
      const found = new Set<string>();
      for (let i = 0; i < personIds.length; i += 500) {
        const chunk = personIds.slice(i, i + 500);
        for (const r of await ctx.tx
          .selectFrom('persons')
          .select('id')
          .where('tenant_id', '=', tenantId)
          .where('department_id', '=', departmentId)
          .where('merged_into', 'is', null)
          .where('id', 'in', chunk)
          .execute())
          found.add(r.id);
      }
      const strange = personIds.findIndex((id) => !found.has(id));
      if (strange >= 0)
        throw fieldRefused(
          'validation-failed',
          `personIds.${strange}`,
          'not-in-department',
          'not a file of this department',
        );
    }
    if (personIds.length === 0)
      throw fieldRefused(
        'validation-failed',
        'outbreakId' in selection ? 'outbreakId' : 'personIds',
        'too-few',
        'no files',
        {
          min: 1,
        },
      );
    await this.refuseRunning(ctx, departmentId, template.id, personIds);
    const id = randomUUID();
    await ctx.tx
      .insertInto('letter_runs')
      .values({
        id,
        tenant_id: tenantId,
        department_id: departmentId,
        template_id: template.id,
        template_version: template.version,
        source: outbreakId ? 'outbreak' : 'persons',
        outbreak_id: outbreakId,
        state: 'running',
        total: personIds.length,
        done: 0,
        failed: 0,
        created_at: ctx.now,
        created_by: ctx.principal.userId,
        finished_at: null,
      })
      .execute();
    for (let i = 0; i < personIds.length; i += 200)
      await ctx.tx
        .insertInto('letter_run_items')
        .values(
          personIds.slice(i, i + 200).map((personId, j) => ({
            run_id: id,
            person_id: personId,
            tenant_id: tenantId,
            seq: i + j,
            state: 'pending',
            document_id: null,
            error: null,
            updated_at: ctx.now,
          })),
        )
        .execute();
    ctx.audit.resourceId = id;
    ctx.audit.detail = {
      runId: id,
      templateId: template.id,
      templateVersion: template.version,
      files: personIds.length,
    };
    return id;
  }

  /**
   * A double click or a retry after a timeout must not make every file's letter twice: while a run of this
   * template over exactly these files is still going, another is refused (409, run-running). Serialised per
   * department and template, so two requests at the same moment cannot both find none (PostgreSQL).
   */
  private async refuseRunning(ctx: GateContext, departmentId: string, templateId: string, personIds: string[]) {
    const tenantId = ctx.principal.tenantId;
    await serialise(ctx.tx, `kartei.letter-run:${departmentId}:${templateId}`);
    const running = await ctx.tx
      .selectFrom('letter_runs')
      .select('id')
      .where('tenant_id', '=', tenantId)
      .where('department_id', '=', departmentId)
      .where('template_id', '=', templateId)
      .where('state', '=', 'running')
      .where('total', '=', personIds.length)
      .execute();
    const wanted = new Set(personIds);
    for (const run of running) {
      const items = await ctx.tx
        .selectFrom('letter_run_items')
        .select('person_id')
        .where('run_id', '=', run.id)
        .where('tenant_id', '=', tenantId)
        .execute();
      if (items.length === wanted.size && items.every((i) => wanted.has(i.person_id)))
        throw fieldRefused(
          'conflict',
          'templateId',
          'run-running',
          'a run of this template over the same files is still going',
        );
    }
  }

  /** The department's runs, newest first. */
  async list(ctx: GateContext): Promise<LetterRunListItem[]> {
    const rows = await ctx.tx
      .selectFrom('letter_runs')
      .selectAll()
      .where('tenant_id', '=', ctx.principal.tenantId)
      .where('department_id', '=', decidedDepartment(ctx))
      .orderBy('created_at', 'desc')
      .limit(100)
      .execute();
    return Promise.all(rows.map(async (r) => this.facts(ctx, await countedAsShown(ctx, r))));
  }

  /** One run (the gate decided on its department) with its items; names only of files the caller may read. */
  async read(ctx: GateContext, runId: string): Promise<LetterRunView> {
    const run = await ctx.tx
      .selectFrom('letter_runs')
      .selectAll()
      .where('id', '=', runId)
      .where('tenant_id', '=', ctx.principal.tenantId)
      .executeTakeFirst();
    if (!run) throw new KarteiError('not-found');
    let items = await ctx.tx
      .selectFrom('letter_run_items')
      .select(['person_id', 'state', 'document_id', 'error'])
      .where('run_id', '=', runId)
      .where('tenant_id', '=', ctx.principal.tenantId)
      .orderBy('seq')
      .execute();
    const versions = new Map(
      (
        await ctx.tx
          .selectFrom('letter_generations')
          .select(['person_id', 'document_version'])
          .where('tenant_id', '=', ctx.principal.tenantId)
          .where('run_id', '=', runId)
          .execute()
      ).map((g) => [g.person_id, g.document_version] as const),
    );
    const shown = await shownOf(ctx, run);
    if (shown) items = items.filter((i) => shown.has(i.person_id));
    // The names of the department's own files (the caller is a member): the result list a person works through.
    const people = new Map(
      (
        await this.persons.identify(
          ctx,
          items.map((i) => i.person_id),
        )
      )
        .filter((p) => p.departmentId === run.department_id)
        .map((p) => [p.id, p] as const),
    );
    ctx.audit.hits = [...people.values()].map((p) => ({ personId: p.id, departmentId: p.departmentId }));
    ctx.audit.detail = { runId, files: items.length };
    return {
      ...(await this.facts(ctx, shown ? { ...run, ...countsOf(items) } : run)),
      items: items.map((i) => ({
        personId: i.person_id,
        state: i.state as 'pending' | 'done' | 'failed',
        documentId: i.document_id,
        documentVersion: versions.get(i.person_id) ?? null,
        error: i.error,
        familyName: people.get(i.person_id)?.familyName ?? null,
        givenName: people.get(i.person_id)?.givenName ?? null,
      })),
    };
  }

  private async facts(
    ctx: GateContext,
    r: {
      id: string;
      department_id: string;
      template_id: string;
      template_version: number;
      source: string;
      outbreak_id: string | null;
      state: string;
      total: number;
      done: number;
      failed: number;
      created_at: string;
      finished_at: string | null;
    },
  ): Promise<LetterRunListItem> {
    const t = await this.templates.version(ctx, r.template_id, r.template_version);
    return {
      id: r.id,
      departmentId: r.department_id,
      templateId: r.template_id,
      templateVersion: r.template_version,
      templateName: t.content.name,
      source: r.source as 'persons' | 'outbreak',
      outbreakId: r.outbreak_id,
      state: r.state as 'running' | 'finished',
      total: r.total,
      done: r.done,
      failed: r.failed,
      createdAt: r.created_at,
      finishedAt: r.finished_at,
    };
  }
}

/**
 * A run over an outbreak, read by whoever may not read restricted records: the persons it shows them — those who are a
 * normal contact of the outbreak now, as the outbreak's own list shows them. Not a person who is only a restricted
 * contact (their name and id would tell of them), nor one whose contact has ended since (it may have been a restricted
 * one). Null: the run shows everything to this reader.
 */
async function shownOf(
  ctx: GateContext,
  run: { outbreak_id: string | null; department_id: string },
): Promise<Set<string> | null> {
  if (!run.outbreak_id || readsRestrictedIn(ctx, run.department_id)) return null;
  return new Set(await outbreakContacts(ctx, run.department_id, run.outbreak_id, true));
}

/** A run's counts over the items a reader is shown (the run's own counts would tell how many are left out). */
function countsOf(items: { state: string }[]) {
  return {
    total: items.length,
    done: items.filter((i) => i.state === 'done').length,
    failed: items.filter((i) => i.state === 'failed').length,
  };
}

/** A run of the department's list, its counts over what this reader is shown. */
async function countedAsShown<
  R extends { id: string; tenant_id: string; outbreak_id: string | null; department_id: string },
>(ctx: GateContext, run: R): Promise<R> {
  const shown = await shownOf(ctx, run);
  if (!shown) return run;
  const items = await ctx.tx
    .selectFrom('letter_run_items')
    .select(['person_id', 'state'])
    .where('run_id', '=', run.id)
    .where('tenant_id', '=', run.tenant_id)
    .execute();
  return { ...run, ...countsOf(items.filter((i) => shown.has(i.person_id))) };
}

/** The persons who are live contacts of the outbreak's live cases, files of `departmentId`; normal contacts only if asked. */
async function outbreakContacts(
  ctx: GateContext,
  departmentId: string,
  outbreakId: string,
  normalOnly: boolean,
): Promise<string[]> {
  const tenantId = ctx.principal.tenantId;
  const rows = await ctx.tx
    .selectFrom('ifsg_contacts as k')
    .innerJoin('ifsg_cases as c', 'c.record_id', 'k.case_record_id')
    .innerJoin('persons as p', 'p.id', 'k.person_id')
    .select('k.person_id')
    .distinct()
    .where('k.tenant_id', '=', tenantId)
    .where('k.deleted_at', 'is', null)
    .where('c.tenant_id', '=', tenantId)
    .where('c.outbreak_id', '=', outbreakId)
    .where('c.deleted_at', 'is', null)
    .where('p.department_id', '=', departmentId)
    .where('p.merged_into', 'is', null)
    .$if(normalOnly, (q) => q.where('k.sensitivity', '=', 'normal'))
    .orderBy('k.person_id')
    .execute();
  return rows.map((r) => r.person_id);
}

/**
 * Works through unfinished runs in the server process, one file at a time. `start` resumes every office's
 * running runs (after a crash or restart); `kick` adds a run just started; `stop` waits for the file in hand.
 */
export class LetterRunner {
  private readonly store: Store;
  private readonly gate: Gate;
  private readonly letters: Letters;
  private readonly queue: { tenantId: string; runId: string }[] = [];
  private working: Promise<void> | undefined;
  private stopped = false;
  /** Test hook: after this many files the runner stops as if the process had ended (a simulated crash). */
  stopAfter: number | undefined;
  /** Logs a run that could not go on (never a name). */
  onError: (e: unknown, runId: string) => void = () => undefined;
  // Issue 19: instances
  /** This server's id in the instance registry (set by src/server.ts); unset: runs are not claimed in the database. */
  instanceId: string | null = null;
  private sweeper: NodeJS.Timeout | undefined;

  constructor(store: Store, gate: Gate, letters: Letters) {
    this.store = store;
    this.gate = gate;
    this.letters = letters;
  }

  /** Resumes every office's unfinished runs. */
  async start(): Promise<void> {
    this.stopped = false;
    await this.sweep();
    // Issue 19: instances — runs another instance left (stopped, crashed) are taken up here too.
    if (this.instanceId && !this.sweeper) {
      this.sweeper = setInterval(() => void this.sweep().catch((e) => this.onError(e, 'sweep')), LetterRunner.SWEEP_MS);
      this.sweeper.unref();
    }
  }

  // Issue 19: instances
  /** How often an instance looks for running runs no live instance holds. */
  static SWEEP_MS = 15_000;

  /** Kicks every office's running runs that no other live instance holds. */
  async sweep(): Promise<void> {
    if (this.stopped) return;
    const tenants = await this.store.db.selectFrom('tenants').select('id').execute();
    for (const { id: tenantId } of tenants) {
      const runs = await inTenantTransaction(this.store, tenantId, (tx) => {
        let q = tx
          .selectFrom('letter_runs')
          .select('id')
          .where('tenant_id', '=', tenantId)
          .where('state', '=', 'running');
        const me = this.instanceId;
        if (me)
          q = q.where((eb) =>
            eb.or([eb('runner', 'is', null), eb('runner', '=', me), eb('runner', 'not in', liveInstanceIds(tx))]),
          );
        return q.orderBy('created_at').execute();
      });
      for (const r of runs) this.kick(tenantId, r.id);
    }
  }

  kick(tenantId: string, runId: string): void {
    if (this.stopped) return;
    if (!this.queue.some((q) => q.runId === runId)) this.queue.push({ tenantId, runId });
    this.working ??= this.drain().finally(() => {
      this.working = undefined;
    });
  }

  /** Stops after the file in hand; unfinished runs stay `running` for the next start. */
  async stop(): Promise<void> {
    this.stopped = true;
    // Issue 19: instances
    clearInterval(this.sweeper);
    this.sweeper = undefined;
    await this.working;
  }

  /** Resolves when the queue is empty (tests). */
  idle(): Promise<void> {
    return this.working ?? Promise.resolve();
  }

  private async drain(): Promise<void> {
    let made = 0;
    // Without a document store nothing can be stored: the runs wait (start() again takes them up).
    if (!this.letters.ready()) return;
    while (!this.stopped && this.queue.length > 0) {
      const { tenantId, runId } = this.queue[0]!;
      try {
        const more = await this.step(tenantId, runId, () => {
          made++;
          if (this.stopAfter !== undefined && made >= this.stopAfter) this.stopped = true;
          return !this.stopped;
        });
        if (!more) this.queue.shift();
      } catch (e) {
        this.onError(e, runId);
        this.queue.shift();
      }
    }
  }

  /** A batch of a run's pending files; answers whether more are pending. */
  private async step(tenantId: string, runId: string, goOn: () => boolean): Promise<boolean> {
    // Issue 19: instances — held by another live instance: it goes on there.
    if (!(await this.claim(tenantId, runId))) return false;
    const { run, items, principal } = await inTenantTransaction(this.store, tenantId, async (tx) => {
      const run = await tx
        .selectFrom('letter_runs')
        .selectAll()
        .where('id', '=', runId)
        .where('tenant_id', '=', tenantId)
        .executeTakeFirstOrThrow();
      const items = await tx
        .selectFrom('letter_run_items')
        .select('person_id')
        .where('run_id', '=', runId)
        .where('tenant_id', '=', tenantId)
        .where('state', '=', 'pending')
        .orderBy('seq')
        .limit(BATCH)
        .execute();
      // The one who started the run, with the roles they hold now (none, if the account was deactivated).
      const rows = await activeUsersWithRoles(tx)
        .where('users.id', '=', run.created_by)
        .where('users.tenant_id', '=', tenantId)
        .execute();
      return { run, items, principal: toPrincipal(tenantId, run.created_by, rows) };
    });
    if (run.state !== 'running') return false;
    if (items.length === 0) {
      await inTenantTransaction(this.store, tenantId, (tx) =>
        tx
          .updateTable('letter_runs')
          .set({ state: 'finished', finished_at: new Date().toISOString() })
          .where('id', '=', runId)
          .where('tenant_id', '=', tenantId)
          .where('state', '=', 'running')
          .execute(),
      );
      return false;
    }
    const { recordType } = KIND_RECORDS[(await this.kindOf(tenantId, run.template_id)) ?? 'other'];
    for (const { person_id: personId } of items) {
      try {
        await this.gate.run(principal, 'letter.generate', { kind: 'person', personId }, async (ctx) => {
          const recordId = recordType ? await latestRecord(ctx, personId, recordType) : undefined;
          const made = await this.letters.generate(
            ctx,
            { templateId: run.template_id, requestKey: `run:${runId}:${personId}`, ...(recordId ? { recordId } : {}) },
            { version: run.template_version, runId },
          );
          const marked = await ctx.tx
            .updateTable('letter_run_items')
            .set({ state: 'done', document_id: made.documentId, updated_at: ctx.now })
            .where('run_id', '=', runId)
            .where('person_id', '=', personId)
            .where('tenant_id', '=', tenantId)
            .where('state', '=', 'pending')
            .executeTakeFirst();
          if (Number(marked.numUpdatedRows) !== 1)
            // Done by another turn already: this letter is undone with its transaction.
            throw new Error('this file of the run is done already');
          await ctx.tx
            .updateTable('letter_runs')
            .set((eb) => ({ done: eb('done', '+', 1) }))
            .where('id', '=', runId)
            .where('tenant_id', '=', tenantId)
            .execute();
        });
      } catch (e) {
        const code =
          e instanceof KarteiError
            ? ((e.extra?.errors as { code: string }[] | undefined)?.[0]?.code ?? e.code)
            : 'internal-error';
        await inTenantTransaction(this.store, tenantId, async (tx) => {
          const marked = await tx
            .updateTable('letter_run_items')
            .set({ state: 'failed', error: code, updated_at: new Date().toISOString() })
            .where('run_id', '=', runId)
            .where('person_id', '=', personId)
            .where('tenant_id', '=', tenantId)
            .where('state', '=', 'pending')
            .executeTakeFirst();
          if (Number(marked.numUpdatedRows) === 1)
            await tx
              .updateTable('letter_runs')
              .set((eb) => ({ failed: eb('failed', '+', 1) }))
              .where('id', '=', runId)
              .where('tenant_id', '=', tenantId)
              .execute();
        });
      }
      if (!goOn()) return true;
    }
    return true;
  }

  // Issue 19: instances
  /** Claims a running run for this instance: free, its own, or held by an instance no longer live. */
  private async claim(tenantId: string, runId: string): Promise<boolean> {
    const me = this.instanceId;
    if (!me) return true;
    return inTenantTransaction(this.store, tenantId, async (tx) => {
      const r = await tx
        .updateTable('letter_runs')
        .set({ runner: me })
        .where('id', '=', runId)
        .where('tenant_id', '=', tenantId)
        .where('state', '=', 'running')
        .where((eb) =>
          eb.or([eb('runner', 'is', null), eb('runner', '=', me), eb('runner', 'not in', liveInstanceIds(tx))]),
        )
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    });
  }

  private async kindOf(tenantId: string, templateId: string) {
    const t = await inTenantTransaction(this.store, tenantId, (tx) =>
      tx
        .selectFrom('letter_templates')
        .select('kind')
        .where('id', '=', templateId)
        .where('tenant_id', '=', tenantId)
        .executeTakeFirst(),
    );
    return t?.kind as keyof typeof KIND_RECORDS | undefined;
  }
}

/** The file's most recent live record of `type` (a bulk run's letter is made for it). */
async function latestRecord(ctx: GateContext, personId: string, type: string): Promise<string | undefined> {
  const r = await ctx.tx
    .selectFrom('records')
    .select('id')
    .where('tenant_id', '=', ctx.principal.tenantId)
    .where('person_id', '=', personId)
    .where('type', '=', type)
    .where('deleted_at', 'is', null)
    .orderBy('updated_at', 'desc')
    .orderBy('id')
    .limit(1)
    .executeTakeFirst();
  return r?.id;
}
