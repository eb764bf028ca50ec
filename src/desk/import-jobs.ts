// Importing an office's existing data (issue 17): a department's import jobs. The upload is sealed with
// the department key at once (never on disk unsealed) and dropped when the job ends or is discarded;
// the dry run plans every row (created, matched to a file of the department by the blind index or to an
// earlier row of the file, refused and why) and keeps only row numbers, codes and person ids; the import
// then runs in batches, each one gate transaction that writes its persons, records, row outcomes and the
// job's position together — a crash loses at most the batch under way, and a restart continues after
// the last committed one, so no row is imported twice. Every person created or matched is an audit event
// naming the person (ctx.audit.hits); counts go into the detail. The file is parsed outside every
// transaction (`read`, `warm`, the runner's preparation); each row is written in its own savepoint, and each
// batch is decided on the roles its starter holds at that moment.
// Issue 19: instances — the job names the instance running it (`runner`), so every instance shows it
// running while that instance is live and refuses a second start or a discard meanwhile; a job whose
// instance stopped or died shows interrupted everywhere, and a head resumes it on any instance.
import { randomUUID } from 'node:crypto';
import { sql, type ExpressionBuilder } from 'kysely';
import type { Gate, GateContext } from '../access/gate.ts';
import { decidedDepartment } from '../access/gate.ts';
import type { FileFacts, Principal } from '../access/policy.ts';
import type { Resolved } from '../access/resolve.ts';
import { inTenantTransaction, type Store, type Tx } from '../db/connect.ts';
import type { Database } from '../db/schema.ts';
import { fieldRefused, fieldsRefused, KarteiError } from '../errors.ts';
import { activeUsersWithRoles, toPrincipal } from '../identity/sessions.ts';
import type { Persons } from '../records/persons.ts';
import type { Records } from '../records/records.ts';
import { bindingBytes, open, seal } from '../vault/aead.ts';
import { personDigests } from '../vault/blind-index.ts';
import type { Keyring } from '../vault/keyring.ts';
import { openField, sealField } from '../vault/keyring.ts';
import {
  IMPORT_RECORD_FIELDS,
  type ImportJob,
  type ImportJobDetail,
  type ImportMapping,
  type ImportOutcome,
  type ImportReason,
  type ImportRow,
} from '../contract/import.ts';
import {
  type Delimiter,
  detectDelimiter,
  detectEncoding,
  detectFormat,
  decode,
  MAX_ROWS,
  type Encoding,
  type Format,
  readTable,
  type Table,
  UnreadableFile,
} from './import-parse.ts';
import { planRow, type RowPlan } from './import-values.ts';
// Issue 19: instances
import { liveSince } from '../db/instances.ts';

/** Rows a file may hold (import-parse.ts reads no more than one past it). */
const MAX_IMPORT_ROWS = MAX_ROWS;
/** Rows shown before the mapping. */
const PREVIEW_ROWS = 5;

type JobRow = {
  id: string;
  department_id: string;
  state: string;
  version: number;
  format: string;
  size: number;
  detected_encoding: string | null;
  encoding: string | null;
  delimiter: string | null;
  row_count: number;
  position: number;
  created_count: number;
  matched_count: number;
  refused_count: number;
  created_by: string;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
  // Issue 19: instances — the instance running it, and whether that instance is live.
  runner: string | null;
  runner_live: unknown;
};

const JOB_COLUMNS = [
  'id',
  'department_id',
  'state',
  'version',
  'format',
  'size',
  'detected_encoding',
  'encoding',
  'delimiter',
  'row_count',
  'position',
  'created_count',
  'matched_count',
  'refused_count',
  'created_by',
  'created_at',
  'updated_at',
  'finished_at',
  // Issue 19: instances
  'runner',
] as const;

const uploadBinding = (tenantId: string, jobId: string) =>
  bindingBytes({ tenantId, table: 'import_jobs', rowId: jobId, field: 'upload' });
const mappingBinding = (tenantId: string, jobId: string) => ({
  tenantId,
  table: 'import_jobs',
  rowId: jobId,
  field: 'mapping',
});

/** One row's plan in the file: what it becomes, and the file's first row of the same person. */
interface PlannedRow {
  rowNumber: number;
  plan: RowPlan;
  /** The digest the person is matched by (transliterated names and birth date), and the DICOM Patient ID's. */
  link?: string;
  patientId?: string;
  /** The row number of the first row of the file with the same link (this row's own, if it is the first). */
  firstRow?: number;
}

/** What the runner holds for a job while it imports (in memory only). */
interface RunPlan {
  rows: PlannedRow[];
  mapping: ImportMapping;
}

/** An upload as `Imports.read` found it. */
export interface ReadUpload {
  format: Format;
  encoding: Encoding | null;
  delimiter: Delimiter | null;
  table: Table;
}

export interface ImportHooks {
  /** Tests: awaited whenever a file is about to be parsed (never inside a transaction). */
  reading?: () => Promise<void>;
  /** Tests: called inside each batch's transaction after its writes; throwing rolls the batch back (a crash). */
  inBatch?: (batchIndex: number) => void;
  /** Tests: awaited after a batch has committed, before the next one begins (`batchIndex` is the next one's). */
  betweenBatches?: (batchIndex: number) => Promise<void>;
  /** Tests: awaited in a batch's transaction after its files were looked up, before its rows are written. */
  beforeRows?: (tx: Tx, batchIndex: number) => Promise<void>;
}

export class Imports {
  private readonly store: Store;
  private readonly keyring: Keyring;
  private readonly persons: Persons;
  private readonly records: Records;
  /** Jobs this process is importing right now. */
  private readonly active = new Set<string>();
  /** The runners' promises (tests and an orderly stop wait for them). */
  private readonly runs = new Map<string, Promise<void>>();
  /** The last tables read (the preview, a dry run after it): decrypted, in memory only. */
  private readonly tables = new Map<string, Table>();
  /**
   * Rows per batch transaction: on SQLite a batch holds the one writer, so other requests wait for it
   * (~0.5–1 s at 1,000 rows); larger batches share more of each commit's page writes (bench/RESULTS.md).
   */
  batchSize = 1000;
  hooks: ImportHooks = {};
  // Issue 19: instances
  /** This server's id in the instance registry (set by src/server.ts): the jobs it runs name it. */
  instanceId: string | null = null;

  constructor(store: Store, keyring: Keyring, persons: Persons, records: Records) {
    this.store = store;
    this.keyring = keyring;
    this.persons = persons;
    this.records = records;
  }

  /**
   * Reads an uploaded file — its format, encoding and delimiter detected — OUTSIDE any transaction (on SQLite a
   * 200,000-row XLSX parsed inside the gate's held every other request for seconds). Call it only after the
   * caller was decided to be allowed (`decideBeforeUpload`); a refusal it throws is rethrown inside the gate.
   */
  async read(bytes: Buffer): Promise<ReadUpload> {
    await this.hooks.reading?.();
    const format = detectFormat(bytes);
    const encoding = format === 'csv' ? detectEncoding(bytes) : null;
    const delimiter = format === 'csv' ? detectDelimiter(decode(bytes.subarray(0, 64 * 1024), encoding!)) : null;
    return { format, encoding, delimiter, table: await readOrRefuse(bytes, format, { encoding, delimiter }) };
  }

  /** Takes an uploaded file read by `read`: checks it has rows, seals it. */
  async upload(ctx: GateContext, bytes: Buffer, read: ReadUpload): Promise<ImportJobDetail> {
    const departmentId = decidedDepartment(ctx);
    const tenantId = ctx.principal.tenantId;
    const { format, encoding, delimiter, table } = read;
    if (table.rows.length === 0)
      throw fieldRefused('validation-failed', 'file', 'import-empty', 'the file has no data rows');
    if (table.rows.length > MAX_IMPORT_ROWS)
      throw fieldRefused('validation-failed', 'file', 'import-too-many-rows', `at most ${MAX_IMPORT_ROWS} rows`, {
        max: MAX_IMPORT_ROWS,
      });
    const id = randomUUID();
    const key = await this.keyring.departmentKey(ctx.tx, tenantId, departmentId);
    await ctx.tx
      .insertInto('import_jobs')
      .values({
        id,
        tenant_id: tenantId,
        department_id: departmentId,
        state: 'uploaded',
        version: 1,
        format,
        size: bytes.length,
        detected_encoding: encoding,
        encoding,
        delimiter,
        upload_enc: seal(key, bytes, uploadBinding(tenantId, id)),
        mapping_enc: null,
        row_count: table.rows.length,
        position: 0,
        created_count: 0,
        matched_count: 0,
        refused_count: 0,
        created_by: ctx.principal.userId,
        created_at: ctx.now,
        updated_at: ctx.now,
        finished_at: null,
      })
      .execute();
    this.remember(`${id}:${encoding}:${delimiter}`, table);
    const made = await this.detail(ctx, id);
    ctx.audit.resourceId = id;
    ctx.audit.detail = { format, size: bytes.length, rows: table.rows.length, ...(encoding ? { encoding } : {}) };
    return made;
  }

  /** The department's jobs, newest first. */
  async list(ctx: GateContext): Promise<ImportJob[]> {
    const rows = await ctx.tx
      .selectFrom('import_jobs')
      .select(JOB_COLUMNS)
      .select(runnerLive(ctx.tx))
      .where('tenant_id', '=', ctx.principal.tenantId)
      .where('department_id', '=', decidedDepartment(ctx))
      .orderBy('created_at', 'desc')
      .orderBy('id')
      .limit(100)
      .execute();
    return rows.map((r) => this.view(r));
  }

  /**
   * Before a step that reads the job's file as a table (its detail, a dry run) when that table is not in memory:
   * the sealed upload opened through the gate (`action`, audited as phase `read`), then parsed AFTER that short
   * transaction and kept — so the step's own transaction finds it in memory instead of parsing for seconds
   * inside it (on SQLite every other request waited). `choice`: the dry run's encoding and delimiter.
   */
  async warm(
    gate: Gate,
    principal: Principal,
    action: 'import.read' | 'import.update',
    jobId: string,
    choice: { encoding?: Encoding; delimiter?: Delimiter } = {},
  ): Promise<void> {
    const tenantId = principal.tenantId;
    // Only whether there is a file to read, and in which encoding (nothing personal): no table needed, no access.
    const meta = await inTenantTransaction(this.store, tenantId, (tx) =>
      tx
        .selectFrom('import_jobs')
        .select(['format', 'encoding', 'delimiter'])
        .where('id', '=', jobId)
        .where('tenant_id', '=', tenantId)
        .where('upload_enc', 'is not', null)
        .executeTakeFirst(),
    );
    if (!meta) return;
    const csv = meta.format === 'csv';
    const encoding = csv ? (choice.encoding ?? (meta.encoding as Encoding)) : null;
    const delimiter = csv ? (choice.delimiter ?? (meta.delimiter as Delimiter)) : null;
    if (this.tables.has(`${jobId}:${encoding}:${delimiter}`)) return;
    const got = await gate.run(principal, action, { kind: 'import', importId: jobId }, async (ctx) => {
      const { upload } = await this.sealed(ctx, jobId);
      if (upload) ctx.audit.detail = { phase: 'read', size: upload.length };
      return upload;
    });
    // A file that does not read in this encoding is refused by the step itself, inside its gate.
    if (got) await this.table({ id: jobId, format: meta.format, encoding, delimiter }, got).catch(() => undefined);
  }

  /** A job with its columns, first rows and mapping (while its upload is kept). */
  async detail(ctx: GateContext, jobId: string): Promise<ImportJobDetail> {
    const job = await this.job(ctx.tx, ctx.principal.tenantId, jobId);
    let columns: string[] = [];
    let preview: ImportJobDetail['preview'] = [];
    let mapping: ImportMapping | null = null;
    const sealed = await this.sealed(ctx, jobId);
    if (sealed.upload) {
      const table = await this.table(job, sealed.upload);
      columns = table.header;
      preview = table.rows.slice(0, PREVIEW_ROWS);
      ctx.audit.detail = { rowsShown: preview.length };
    }
    if (sealed.mapping) mapping = sealed.mapping;
    return { ...this.view(job), columns, preview, mapping };
  }

  /**
   * The dry run: reads the file in the chosen encoding and delimiter, plans every row under the mapping,
   * matches against the department's files and earlier rows, and keeps each row's outcome (no values).
   */
  async dryRun(
    ctx: GateContext,
    jobId: string,
    input: { version: number; encoding?: Encoding; delimiter?: Delimiter; mapping: ImportMapping },
  ): Promise<ImportJobDetail> {
    const tenantId = ctx.principal.tenantId;
    const job = await this.job(ctx.tx, tenantId, jobId);
    if (job.state !== 'uploaded' && job.state !== 'checked')
      throw fieldRefused('conflict', 'state', 'import-ended', `the job is ${job.state}`);
    if (job.version !== input.version)
      throw new KarteiError('stale-version', `version: the job is at version ${job.version}`, {
        field: 'version',
        currentVersion: job.version,
      });
    // The job's row is claimed before anything is written: a dry run of the same version at the same moment
    // waits here (PostgreSQL's row lock), then finds the version moved on (409) — it collided on the rows (500).
    await claimVersion(ctx, jobId, job.version);
    const encoding = job.format === 'csv' ? (input.encoding ?? (job.encoding as Encoding)) : null;
    const delimiter = job.format === 'csv' ? (input.delimiter ?? (job.delimiter as Delimiter)) : null;
    const sealed = await this.sealed(ctx, jobId);
    if (!sealed.upload) throw fieldRefused('conflict', 'state', 'import-ended', 'the upload is gone');
    const table = await this.table({ ...job, encoding, delimiter }, sealed.upload);
    checkMapping(input.mapping, table.header.length);
    const planned = await this.plan(ctx, job.department_id, table, input.mapping);
    await ctx.tx.deleteFrom('import_rows').where('job_id', '=', jobId).where('tenant_id', '=', tenantId).execute();
    const counts = { created: 0, matched: 0, refused: 0 };
    for (let i = 0; i < planned.length; i += 500) {
      const values = planned.slice(i, i + 500).map((r) => {
        counts[r.outcome]++;
        return {
          job_id: jobId,
          row_number: r.rowNumber,
          tenant_id: tenantId,
          dry_outcome: r.outcome,
          dry_reason: r.reason,
          outcome: null,
          reason: null,
          person_id: r.personId,
          record_id: null,
        };
      });
      await ctx.tx.insertInto('import_rows').values(values).execute();
    }
    const key = await this.keyring.departmentKey(ctx.tx, tenantId, job.department_id);
    await ctx.tx
      .updateTable('import_jobs')
      .set({
        state: 'checked',
        version: job.version + 1,
        encoding,
        delimiter,
        mapping_enc: sealField(key, mappingBinding(tenantId, jobId), input.mapping),
        row_count: table.rows.length,
        created_count: counts.created,
        matched_count: counts.matched,
        refused_count: counts.refused,
        updated_at: ctx.now,
      })
      .where('id', '=', jobId)
      .where('version', '=', job.version)
      .execute();
    const checked = await this.detail(ctx, jobId);
    ctx.audit.detail = { phase: 'dry-run', rows: table.rows.length, ...counts, ...(encoding ? { encoding } : {}) };
    return checked;
  }

  /** A page of the rows' outcomes, by row number, filtered by outcome and reason. */
  async rows(
    ctx: GateContext,
    jobId: string,
    q: { outcome?: ImportOutcome; reason?: ImportReason; after?: number; limit: number },
  ): Promise<{ items: ImportRow[]; total: number }> {
    const tenantId = ctx.principal.tenantId;
    await this.job(ctx.tx, tenantId, jobId);
    const filtered = ctx.tx
      .selectFrom('import_rows')
      .where('job_id', '=', jobId)
      .where('tenant_id', '=', tenantId)
      .$if(q.outcome !== undefined, (b) =>
        b.where((eb) =>
          eb.or([
            eb('outcome', '=', q.outcome!),
            eb.and([eb('outcome', 'is', null), eb('dry_outcome', '=', q.outcome!)]),
          ]),
        ),
      )
      .$if(q.reason !== undefined, (b) =>
        b.where((eb) =>
          eb.or([eb('reason', '=', q.reason!), eb.and([eb('outcome', 'is', null), eb('dry_reason', '=', q.reason!)])]),
        ),
      );
    const total = await filtered.select((eb) => eb.fn.countAll<number | string>().as('n')).executeTakeFirst();
    const rows = await filtered
      .selectAll()
      .$if(q.after !== undefined, (b) => b.where('row_number', '>', q.after!))
      .orderBy('row_number')
      .limit(q.limit)
      .execute();
    ctx.audit.detail = { rows: rows.length };
    return { items: rows.map(rowView), total: Number(total?.n ?? 0) };
  }

  /** The report: one line per row — number, outcome, reason code, person id; no names. CSV, `;`, UTF-8 with BOM. */
  async report(ctx: GateContext, jobId: string): Promise<string> {
    const tenantId = ctx.principal.tenantId;
    await this.job(ctx.tx, tenantId, jobId);
    const rows = await ctx.tx
      .selectFrom('import_rows')
      .selectAll()
      .where('job_id', '=', jobId)
      .where('tenant_id', '=', tenantId)
      .orderBy('row_number')
      .execute();
    const lines = ['Zeile;Ergebnis;Grund;Person-ID;Eintrag-ID'];
    for (const r of rows) {
      const v = rowView(r);
      const imported = v.outcome !== null;
      lines.push(
        [
          v.rowNumber,
          imported ? v.outcome : `geplant:${v.planned}`,
          (imported ? v.reason : v.plannedReason) ?? '',
          v.personId ?? '',
          v.recordId ?? '',
        ].join(';'),
      );
    }
    ctx.audit.detail = { rows: rows.length };
    return `\uFEFF${lines.join('\r\n')}\r\n`;
  }

  /** Discards a job that is not importing: its upload and mapping are dropped; what was imported stays. */
  async discard(ctx: GateContext, jobId: string, version: number): Promise<ImportJob> {
    const job = await this.job(ctx.tx, ctx.principal.tenantId, jobId);
    if (this.active.has(jobId) || this.elsewhere(job))
      throw fieldRefused('conflict', 'state', 'import-running', 'the import is running');
    if (job.state === 'done' || job.state === 'discarded')
      throw fieldRefused('conflict', 'state', 'import-ended', `the job is ${job.state}`);
    if (job.version !== version)
      throw new KarteiError('stale-version', `version: the job is at version ${job.version}`, {
        field: 'version',
        currentVersion: job.version,
      });
    await claimVersion(ctx, jobId, job.version);
    await ctx.tx
      .updateTable('import_jobs')
      .set({
        state: 'discarded',
        version: job.version + 1,
        upload_enc: null,
        mapping_enc: null,
        updated_at: ctx.now,
        finished_at: ctx.now,
      })
      .where('id', '=', jobId)
      .where('version', '=', job.version)
      .execute();
    this.forget(jobId);
    ctx.audit.detail = { state: 'discarded' };
    return this.view(await this.job(ctx.tx, ctx.principal.tenantId, jobId));
  }

  /**
   * Starts the import after a dry run, or resumes one that was interrupted (state `running`, no runner
   * in this process). A second start while one runs is refused: exactly one runner per job. The runner
   * itself begins after this transaction has committed (`launch`).
   */
  async start(ctx: GateContext, jobId: string, version: number, claim = { claimed: false }): Promise<ImportJob> {
    const job = await this.job(ctx.tx, ctx.principal.tenantId, jobId);
    if (this.active.has(jobId) || this.elsewhere(job))
      throw fieldRefused('conflict', 'state', 'import-running', 'the import is running');
    if (job.state !== 'checked' && job.state !== 'running')
      throw job.state === 'uploaded'
        ? fieldRefused('conflict', 'state', 'import-not-checked', 'run the dry run first')
        : fieldRefused('conflict', 'state', 'import-ended', `the job is ${job.state}`);
    if (job.version !== version)
      throw new KarteiError('stale-version', `version: the job is at version ${job.version}`, {
        field: 'version',
        currentVersion: job.version,
      });
    const fresh = job.state === 'checked';
    const moved = await ctx.tx
      .updateTable('import_jobs')
      .set({
        state: 'running',
        version: job.version + 1,
        updated_at: ctx.now,
        // Issue 19: instances
        runner: this.instanceId,
        ...(fresh ? { created_count: 0, matched_count: 0, refused_count: 0, position: 0 } : {}),
      })
      .where('id', '=', jobId)
      .where('version', '=', job.version)
      .executeTakeFirst();
    if (Number(moved.numUpdatedRows) !== 1)
      throw fieldRefused('conflict', 'state', 'import-running', 'the import was started meanwhile');
    // Claimed before the commit: a parallel start (SQLite serialises it after this one) finds it active.
    this.active.add(jobId);
    claim.claimed = true;
    ctx.audit.detail = { phase: fresh ? 'start' : 'resume', position: job.position, rows: job.row_count };
    return this.view(await this.job(ctx.tx, ctx.principal.tenantId, jobId));
  }

  /** A claim `start` made (`claim.claimed`) that its transaction did not keep (it failed): let go. */
  release(jobId: string): void {
    if (!this.runs.has(jobId)) this.active.delete(jobId);
  }

  /** Runs the import claimed by `start` in the background, as `principal`, batch by batch through the gate. */
  launch(gate: Gate, principal: Principal, jobId: string): Promise<void> {
    const run = this.run(gate, principal, jobId).finally(async () => {
      // Issue 19: instances — no longer running here (a later start, on any instance, resumes it).
      await this.letGo(principal.tenantId, jobId).catch(() => undefined);
      this.active.delete(jobId);
      this.runs.delete(jobId);
    });
    this.runs.set(jobId, run);
    return run;
  }

  /** The runner of a job, if one is running (tests wait for it). */
  running(jobId: string): Promise<void> | undefined {
    return this.runs.get(jobId);
  }

  /** An orderly stop: every runner ends after its current batch (a later start resumes it). */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.allSettled([...this.runs.values()]);
  }

  private stopping = false;

  private async run(gate: Gate, principal: Principal, jobId: string): Promise<void> {
    const ref = { kind: 'import' as const, importId: jobId };
    // Reading the sealed upload and mapping is an access of its own: through the gate, audited.
    const prepared = await gate.run(principal, 'import.run', ref, async (ctx) => {
      const job = await this.job(ctx.tx, ctx.principal.tenantId, jobId);
      const sealed = await this.sealed(ctx, jobId);
      if (job.state !== 'running' || !sealed.upload || !sealed.mapping) return null;
      ctx.audit.detail = { phase: 'prepare', position: job.position, rows: job.row_count };
      const key = await this.keyring.indexKey(ctx.tx, ctx.principal.tenantId);
      return { job, upload: sealed.upload, mapping: sealed.mapping, key };
    });
    if (!prepared) return;
    // Read and planned after the transaction: on SQLite a 200,000-row file parsed inside it held every request.
    const table = await this.table(prepared.job, prepared.upload);
    const plan = { rows: this.planRows(table, prepared.mapping, prepared.key), mapping: prepared.mapping };
    let position = prepared.job.position;
    let batchIndex = 0;
    while (position < plan.rows.length && !this.stopping) {
      const from = position;
      if (batchIndex > 0) await this.hooks.betweenBatches?.(batchIndex);
      // Each batch is decided on the roles its starter holds NOW (as a letter run does): a head removed from the
      // department, or whose account was deactivated, is refused here and the job stops after its last committed
      // batch — state `running`, not active: the UI shows it interrupted, and a head may resume it.
      const now = await this.principalNow(principal);
      position = await gate.run(now, 'import.run', ref, (ctx) => this.batch(ctx, plan, from, batchIndex));
      batchIndex++;
    }
    this.forget(jobId);
  }

  /** The starter with the roles held now (none, if the account was deactivated). */
  private principalNow(principal: Principal): Promise<Principal> {
    const { tenantId, userId } = principal;
    return inTenantTransaction(this.store, tenantId, async (tx) =>
      toPrincipal(
        tenantId,
        userId,
        await activeUsersWithRoles(tx).where('users.id', '=', userId).where('users.tenant_id', '=', tenantId).execute(),
      ),
    );
  }

  /** One batch: its rows written, their outcomes and the job's position in the same transaction. */
  private async batch(ctx: GateContext, plan: RunPlan, from: number, batchIndex: number): Promise<number> {
    const tenantId = ctx.principal.tenantId;
    const jobId = ctx.target.resourceId!;
    const job = await this.job(ctx.tx, tenantId, jobId);
    // Another runner (another process after a restart) got here first: this one stops, nothing written.
    if (job.state !== 'running' || job.position !== from)
      throw fieldRefused('conflict', 'state', 'import-running', 'the import moved on');
    const departmentId = job.department_id;
    const slice = plan.rows.slice(from, from + this.batchSize);
    const existing = await this.existing(
      ctx.tx,
      tenantId,
      departmentId,
      slice.flatMap((r) => [r.link, r.patientId].filter((d): d is string => !!d)),
    );
    /** Persons of this batch by the first row of theirs (a later row of the same batch finds them here). */
    const madeHere = new Map<number, string>();
    const counts = { created: 0, matched: 0, refused: 0 };
    const hits: { personId: string; departmentId: string }[] = [];
    await this.hooks.beforeRows?.(ctx.tx, batchIndex);
    for (const row of slice) {
      let outcome: ImportOutcome;
      let reason: ImportReason | null = null;
      let personId: string | null = null;
      let recordId: string | null = null;
      if (!row.plan.ok) {
        outcome = 'refused';
        reason = row.plan.reason;
      } else {
        const plan = row.plan;
        const earlier = row.firstRow !== undefined && row.firstRow !== row.rowNumber;
        const found =
          (row.link && existing.get(row.link)) ||
          (row.patientId && existing.get(row.patientId)) ||
          (earlier ? madeHere.get(row.firstRow!) : undefined);
        // Each row in its own savepoint: a row that fails on write (its matched file merged away meanwhile, a
        // value the record refuses) is undone alone and refused with a reason; the batch goes on. Without it the
        // whole batch rolled back and every resume retried the same row, forever.
        let failure: { error: unknown } | undefined;
        await sql`savepoint import_row`.execute(ctx.tx);
        try {
          if (found) {
            personId = found;
            // The existing file's own decision: a record goes into it only as the policy allows for that file.
            if (plan.record) {
              const target = await ctx.also('record.create', { kind: 'person', personId: found });
              recordId = await this.records.create({ ...ctx, target, audit: {} }, found, {
                ...plan.record,
                sensitivity: 'normal',
              });
            }
          } else {
            personId = await this.persons.create({ ...ctx, audit: {} }, departmentId, plan.person);
            if (plan.record) {
              // The file this batch just made, in the department the gate decided on, shared with no one.
              const facts: FileFacts = {
                kind: 'file',
                departmentId,
                sharedWith: [],
                breakGlass: false,
                sensitivity: 'normal',
              };
              const target: Resolved = { resource: facts, resourceId: personId, personId, departmentId };
              recordId = await this.records.create({ ...ctx, target, audit: {} }, personId, {
                ...plan.record,
                sensitivity: 'normal',
              });
            }
          }
          await sql`release savepoint import_row`.execute(ctx.tx);
        } catch (error) {
          await sql`rollback to savepoint import_row`.execute(ctx.tx);
          await sql`release savepoint import_row`.execute(ctx.tx);
          failure = { error };
          personId = null;
          recordId = null;
        }
        if (failure || personId === null) {
          outcome = 'refused';
          reason = writeRefusal(failure?.error);
        } else if (found) {
          outcome = 'matched';
          reason = earlier ? 'earlier-row' : 'existing-person';
          hits.push({ personId, departmentId });
        } else {
          outcome = 'created';
          madeHere.set(row.rowNumber, personId);
          if (row.link) existing.set(row.link, personId);
          if (row.patientId) existing.set(row.patientId, personId);
          hits.push({ personId, departmentId });
        }
      }
      counts[outcome]++;
      await ctx.tx
        .updateTable('import_rows')
        .set({ outcome, reason, person_id: personId, record_id: recordId })
        .where('job_id', '=', jobId)
        .where('row_number', '=', row.rowNumber)
        .execute();
    }
    const to = from + slice.length;
    const done = to >= plan.rows.length;
    const moved = await ctx.tx
      .updateTable('import_jobs')
      .set((eb) => ({
        position: to,
        created_count: eb('created_count', '+', counts.created),
        matched_count: eb('matched_count', '+', counts.matched),
        refused_count: eb('refused_count', '+', counts.refused),
        updated_at: ctx.now,
        ...(done ? { state: 'done', version: eb('version', '+', 1), finished_at: ctx.now, upload_enc: null } : {}),
      }))
      .where('id', '=', jobId)
      .where('position', '=', from)
      .executeTakeFirst();
    if (Number(moved.numUpdatedRows) !== 1)
      throw fieldRefused('conflict', 'state', 'import-running', 'the import moved on');
    this.hooks.inBatch?.(batchIndex);
    ctx.audit.hits = hits;
    ctx.audit.detail = { phase: 'batch', from, rows: slice.length, ...counts, ...(done ? { done: true } : {}) };
    return to;
  }

  /** Every row's plan and what it is matched by; the first row of each person in the file. */
  private planRows(table: Table, mapping: ImportMapping, key: Buffer): PlannedRow[] {
    const firstOf = new Map<string, number>();
    return table.rows.map((r) => {
      const plan = planRow(r.cells, mapping);
      if (!plan.ok) return { rowNumber: r.rowNumber, plan };
      let link: string | undefined;
      let patientId: string | undefined;
      for (const d of personDigests(key, plan.person)) {
        if (d.kind === 'link') link = d.digest;
        else if (d.kind === 'patient-id') patientId = d.digest;
      }
      // The same person as an earlier row by names and birth date, or by DICOM Patient ID (as an existing
      // file is matched): without the latter, two rows "Meier"/"Meyer" with one Patient ID made two files.
      const idKey = patientId ? `patient-id:${patientId}` : undefined;
      const firstRow = (link && firstOf.get(link)) || (idKey && firstOf.get(idKey)) || r.rowNumber;
      for (const k of [link, idKey]) if (k && !firstOf.has(k)) firstOf.set(k, firstRow);
      return { rowNumber: r.rowNumber, plan, link, patientId, firstRow };
    });
  }

  /** The dry run's outcome of every row (nothing written but the outcomes). */
  private async plan(ctx: GateContext, departmentId: string, table: Table, mapping: ImportMapping) {
    const tenantId = ctx.principal.tenantId;
    const key = await this.keyring.indexKey(ctx.tx, tenantId);
    const rows = this.planRows(table, mapping, key);
    const digests = rows.flatMap((r) => [r.link, r.patientId].filter((d): d is string => !!d));
    const existing = await this.existing(ctx.tx, tenantId, departmentId, digests);
    return rows.map((r) => {
      if (!r.plan.ok)
        return { rowNumber: r.rowNumber, outcome: 'refused' as const, reason: r.plan.reason, personId: null };
      const found = (r.link && existing.get(r.link)) || (r.patientId && existing.get(r.patientId));
      if (found)
        return {
          rowNumber: r.rowNumber,
          outcome: 'matched' as const,
          reason: 'existing-person' as const,
          personId: found,
        };
      if (r.firstRow !== r.rowNumber)
        return { rowNumber: r.rowNumber, outcome: 'matched' as const, reason: 'earlier-row' as const, personId: null };
      return { rowNumber: r.rowNumber, outcome: 'created' as const, reason: null, personId: null };
    });
  }

  /**
   * The department's files (not merged away) indexed under these digests: digest → person. Two indexed
   * lookups per chunk — the digests' files, then which of them are the department's — rather than a join
   * the planner may answer with a scan of every file (PostgreSQL did, at 100,000 files).
   */
  private async existing(tx: Tx, tenantId: string, departmentId: string, digests: string[]) {
    const out = new Map<string, string>();
    const unique = [...new Set(digests)];
    for (let i = 0; i < unique.length; i += 500) {
      const indexed = await tx
        .selectFrom('person_index')
        .select(['digest', 'person_id'])
        .where('tenant_id', '=', tenantId)
        .where('digest', 'in', unique.slice(i, i + 500))
        .where('kind', 'in', ['link', 'patient-id'])
        .execute();
      if (indexed.length === 0) continue;
      const files = await tx
        .selectFrom('persons')
        .select(['id', 'created_at'])
        .where('tenant_id', '=', tenantId)
        .where('department_id', '=', departmentId)
        .where('merged_into', 'is', null)
        .where('id', 'in', [...new Set(indexed.map((r) => r.person_id))])
        .execute();
      const since = new Map(files.map((f) => [f.id, f.created_at]));
      // The oldest file wins where two share a digest.
      const ordered = indexed
        .filter((r) => since.has(r.person_id))
        .sort((a, b) => {
          const x = since.get(a.person_id)!;
          const y = since.get(b.person_id)!;
          return x < y ? -1 : x > y ? 1 : a.person_id < b.person_id ? -1 : 1;
        });
      for (const f of ordered) if (!out.has(f.digest)) out.set(f.digest, f.person_id);
    }
    return out;
  }

  private async job(tx: Tx, tenantId: string, jobId: string): Promise<JobRow> {
    const job = await tx
      .selectFrom('import_jobs')
      .select(JOB_COLUMNS)
      .select(runnerLive(tx))
      .where('id', '=', jobId)
      .where('tenant_id', '=', tenantId)
      .executeTakeFirst();
    if (!job) throw new KarteiError('not-found');
    return job;
  }

  /** The job's sealed upload and mapping, opened with the department key. */
  private async sealed(ctx: GateContext, jobId: string) {
    const tenantId = ctx.principal.tenantId;
    const row = await ctx.tx
      .selectFrom('import_jobs')
      .select(['department_id', 'upload_enc', 'mapping_enc'])
      .where('id', '=', jobId)
      .where('tenant_id', '=', tenantId)
      .executeTakeFirstOrThrow();
    const key = await this.keyring.departmentKey(ctx.tx, tenantId, row.department_id);
    return {
      upload: row.upload_enc ? open(key, row.upload_enc, uploadBinding(tenantId, jobId)) : null,
      mapping: row.mapping_enc ? openField<ImportMapping>(key, mappingBinding(tenantId, jobId), row.mapping_enc) : null,
    };
  }

  /** The upload read as a table in the job's encoding and delimiter (kept for the next step). */
  private async table(job: Pick<JobRow, 'id' | 'format' | 'encoding' | 'delimiter'>, upload: Buffer): Promise<Table> {
    const id = `${job.id}:${job.encoding}:${job.delimiter}`;
    const kept = this.tables.get(id);
    if (kept) return kept;
    await this.hooks.reading?.();
    const table = await readOrRefuse(upload, job.format as Format, {
      encoding: job.encoding as Encoding | null,
      delimiter: job.delimiter as Delimiter | null,
    });
    this.remember(id, table);
    return table;
  }

  // Issue 19: instances
  /** Running on another instance that is live now. */
  private elsewhere(r: Pick<JobRow, 'state' | 'runner' | 'runner_live'>): boolean {
    return r.state === 'running' && r.runner !== null && r.runner !== this.instanceId && truthy(r.runner_live);
  }

  /** The job no longer names this instance as its runner. */
  private async letGo(tenantId: string, jobId: string): Promise<void> {
    if (!this.instanceId) return;
    await inTenantTransaction(this.store, tenantId, (tx) =>
      tx
        .updateTable('import_jobs')
        .set({ runner: null })
        .where('id', '=', jobId)
        .where('tenant_id', '=', tenantId)
        .where('runner', '=', this.instanceId)
        .execute(),
    );
  }

  private remember(id: string, table: Table) {
    this.tables.set(id, table);
    while (this.tables.size > 2) this.tables.delete(this.tables.keys().next().value!);
  }

  private forget(jobId: string) {
    for (const k of [...this.tables.keys()]) if (k.startsWith(`${jobId}:`)) this.tables.delete(k);
  }

  private view(r: JobRow): ImportJob {
    return {
      id: r.id,
      departmentId: r.department_id,
      state: r.state as ImportJob['state'],
      version: r.version,
      format: r.format as Format,
      size: r.size,
      detectedEncoding: r.detected_encoding as Encoding | null,
      encoding: r.encoding as Encoding | null,
      delimiter: r.delimiter as Delimiter | null,
      rowCount: r.row_count,
      position: r.position,
      counts: { created: r.created_count, matched: r.matched_count, refused: r.refused_count },
      active: this.active.has(r.id) || this.elsewhere(r),
      createdBy: r.created_by,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
      finishedAt: r.finished_at,
    };
  }
}

/** Locks the job's row at `version` for this transaction, or answers 409 with the version it is at now. */
/** A row that failed on write, by why: its matched file merged away meanwhile, or anything else the write refused. */
function writeRefusal(error: unknown): ImportReason {
  return error instanceof KarteiError && error.code === 'person-merged' ? 'file-merged' : 'write-failed';
}

async function claimVersion(ctx: GateContext, jobId: string, version: number): Promise<void> {
  const claimed = await ctx.tx
    .updateTable('import_jobs')
    .set({ updated_at: ctx.now })
    .where('id', '=', jobId)
    .where('tenant_id', '=', ctx.principal.tenantId)
    .where('version', '=', version)
    .executeTakeFirst();
  if (Number(claimed.numUpdatedRows) === 1) return;
  const now = await ctx.tx
    .selectFrom('import_jobs')
    .select('version')
    .where('id', '=', jobId)
    .where('tenant_id', '=', ctx.principal.tenantId)
    .executeTakeFirstOrThrow();
  throw new KarteiError('stale-version', `version: the job is at version ${now.version}`, {
    field: 'version',
    currentVersion: now.version,
  });
}

async function readOrRefuse(
  bytes: Buffer,
  format: Format,
  settings: { encoding: Encoding | null; delimiter: Delimiter | null },
): Promise<Table> {
  try {
    return await readTable(bytes, format, settings);
  } catch (e) {
    if (e instanceof UnreadableFile)
      throw fieldRefused('validation-failed', 'file', 'import-unreadable', e.message.slice(0, 300));
    throw e;
  }
}

/** Every column the mapping names exists, and a record's fields are its type's. */
function checkMapping(mapping: ImportMapping, width: number) {
  const problems: { field: string; code: 'column-unknown' | 'unknown-field'; message: string }[] = [];
  for (const [f, col] of Object.entries(mapping.person))
    if (col !== undefined && col >= width)
      problems.push({ field: `mapping.person.${f}`, code: 'column-unknown', message: `the file has ${width} columns` });
  if (mapping.record) {
    const allowed: readonly string[] = IMPORT_RECORD_FIELDS[mapping.record.type];
    for (const [f, col] of Object.entries(mapping.record.fields)) {
      if (!allowed.includes(f))
        problems.push({
          field: `mapping.record.fields.${f}`,
          code: 'unknown-field',
          message: 'not a field of the type',
        });
      else if (col >= width)
        problems.push({
          field: `mapping.record.fields.${f}`,
          code: 'column-unknown',
          message: `the file has ${width} columns`,
        });
    }
  }
  if (problems.length) throw fieldsRefused('validation-failed', problems);
}

function rowView(r: {
  row_number: number;
  dry_outcome: string;
  dry_reason: string | null;
  outcome: string | null;
  reason: string | null;
  person_id: string | null;
  record_id: string | null;
}): ImportRow {
  return {
    rowNumber: r.row_number,
    planned: r.dry_outcome as ImportOutcome,
    plannedReason: r.dry_reason as ImportReason | null,
    outcome: r.outcome as ImportOutcome | null,
    reason: r.reason as ImportReason | null,
    personId: r.person_id,
    recordId: r.record_id,
  };
}

// Issue 19: instances
/** Whether the job's runner is a live instance (src/db/instances.ts, the database's clock), as a column of the job's row. */
function runnerLive(db: Tx) {
  return (eb: ExpressionBuilder<Database, 'import_jobs'>) =>
    eb
      .exists(
        eb
          .selectFrom('server_instances')
          .select('server_instances.id')
          .whereRef('server_instances.id', '=', 'import_jobs.runner')
          .where('server_instances.stopped_at', 'is', null)
          .where('server_instances.heartbeat_at', '>=', liveSince(db)),
      )
      .as('runner_live');
}

const truthy = (v: unknown) => v === true || Number(v) === 1;
