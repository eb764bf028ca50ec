// The Prometheus metrics of one server (issue 19), on a registry of its own (tests
// start several servers in one process). Labels are closed sets only: a route's
// pattern (`/api/records/:id`, never the URL with its ids or search terms), the
// HTTP method (unknown ones as OTHER), the status code, a gate action, a problem
// code, a storage area — never an id, a name or an AE title. Unmatched URLs all
// count under the route `(unmatched)`, so no flood of distinct URLs grows a
// label set. Per request the cost is one histogram observation (a cached child,
// ~0.25 µs); an audit append an increment (one in 16 timed); a group commit's batch
// one observation; queue depths and free space are read only when scraped.
import fs from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { StorageSpace } from './storage-space.ts';

/** Latencies from a tenth of a millisecond (a health probe) to ten seconds (a large upload). */
const SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
const STATE_VALUE = { ok: 0, low: 1, full: 2 } as const;

type Child = { observe(v: number): void };

export class Metrics {
  readonly registry = new Registry();
  private readonly http: Histogram<'method' | 'route' | 'status'>;
  /** method → route → status → the histogram's child: no label hashing per request. */
  private readonly children = new Map<string, Map<string, Map<number, Child>>>();
  private readonly gate: Histogram<'action' | 'outcome'>;
  private readonly auditAppend: Histogram<never>;
  private readonly commitSync: Histogram<never>;
  private readonly commitBatch: Histogram<never>;
  /** Plain numbers, read at each scrape: an increment per event, nothing more. */
  private readonly counts = { auditAppends: 0 };
  private readonly associations: Counter<'outcome'>;
  private readonly demisImports: Counter<'outcome'>;
  /** Queue depths read at each scrape: name → current length. */
  private readonly queues = new Map<string, () => number>();

  /** The event loop's delay, sampled every 20 ms while the process metrics are on. */
  private loopDelay: ReturnType<typeof monitorEventLoopDelay> | undefined;

  constructor(opts: { storage?: StorageSpace; defaults?: boolean } = {}) {
    const registers = [this.registry];
    if (opts.defaults !== false) this.processMetrics();
    this.http = new Histogram({
      name: 'kartei_http_request_duration_seconds',
      help: 'HTTP requests by method, route pattern and status: _count is the rate, the buckets the latency',
      labelNames: ['method', 'route', 'status'],
      buckets: SECONDS,
      registers,
    });
    this.gate = new Histogram({
      name: 'kartei_dimse_operation_duration_seconds',
      help: 'DICOM operations (C-STORE, C-FIND, C-MOVE/C-GET) through the gate, by action and outcome (ok or the problem code)',
      labelNames: ['action', 'outcome'],
      buckets: SECONDS,
      registers,
    });
    this.associations = new Counter({
      name: 'kartei_dimse_associations_total',
      help: 'DICOM associations accepted or refused',
      labelNames: ['outcome'],
      registers,
    });
    this.demisImports = new Counter({
      name: 'kartei_demis_imports_total',
      help: 'DEMIS notifications fetched and imported into an inbox, by outcome (ok or the problem code)',
      labelNames: ['outcome'],
      registers,
    });
    this.auditAppend = new Histogram({
      name: 'kartei_audit_append_duration_seconds',
      help: 'Appending one audit event to its chain, inside the caller’s transaction (one append in 16 timed)',
      buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05],
      registers,
    });
    const counts = this.counts;
    new Counter({
      name: 'kartei_audit_appends_total',
      help: 'Audit events appended (all of them)',
      registers,
      collect() {
        this.reset();
        this.inc(counts.auditAppends);
      },
    });
    this.commitSync = new Histogram({
      name: 'kartei_db_commit_sync_duration_seconds',
      help: 'SQLite: the WAL sync of each group commit; nobody in the batch is answered before it ends',
      buckets: SECONDS,
      registers,
    });
    this.commitBatch = new Histogram({
      name: 'kartei_db_commit_batch_size',
      help: 'SQLite: transactions sharing one durable group commit',
      buckets: [1, 2, 4, 8, 16, 32, 64],
      registers,
    });
    const queues = this.queues;
    new Gauge({
      name: 'kartei_queue_depth',
      help: 'Work waiting, by queue: db-transactions (SQLite: transactions waiting for the group commit)',
      labelNames: ['queue'],
      registers,
      collect() {
        for (const [name, depth] of queues) this.set({ queue: name }, depth());
      },
    });
    const storage = opts.storage;
    if (storage) {
      new Gauge({
        name: 'kartei_storage_free_bytes',
        help: 'Free space of the file system holding the data or key directory',
        labelNames: ['area'],
        registers,
        collect() {
          for (const a of storage.areas) this.set({ area: a.area }, a.freeBytes);
        },
      });
      new Gauge({
        name: 'kartei_storage_state',
        help: 'Storage state: 0 ok, 1 low (under KARTEI_STORAGE_LOW_MB), 2 full (writes refused)',
        registers,
        collect() {
          this.set(STATE_VALUE[storage.state]);
        },
      });
      new Counter({
        name: 'kartei_storage_full_refusals_total',
        help: 'Requests refused because a write found no space (503 storage-full)',
        registers,
        collect() {
          this.reset();
          this.inc(storage.refusals);
        },
      });
    }
  }

  /**
   * The process's own figures, read at each scrape. Not prom-client's default set: its garbage-collection
   * metric observes every collection, which cost the server measurable CPU per request (A/B in the report).
   */
  private processMetrics(): void {
    const registers = [this.registry];
    const delay = monitorEventLoopDelay({ resolution: 20 });
    delay.enable();
    this.loopDelay = delay;
    new Counter({
      name: 'kartei_process_cpu_seconds_total',
      help: 'User and system CPU time of the server process',
      registers,
      collect() {
        const u = process.cpuUsage();
        this.reset();
        this.inc((u.user + u.system) / 1e6);
      },
    });
    new Gauge({
      name: 'kartei_process_resident_memory_bytes',
      help: 'Resident memory of the server process',
      registers,
      collect() {
        this.set(process.memoryUsage.rss());
      },
    });
    new Gauge({
      name: 'kartei_nodejs_heap_used_bytes',
      help: 'V8 heap in use',
      registers,
      collect() {
        this.set(process.memoryUsage().heapUsed);
      },
    });
    new Gauge({
      name: 'kartei_process_open_fds',
      help: 'Open file descriptors (sockets, files) of the server process',
      registers,
      collect() {
        try {
          this.set(fs.readdirSync('/proc/self/fd').length);
        } catch {
          // Not Linux: no figure.
        }
      },
    });
    new Gauge({
      name: 'kartei_nodejs_eventloop_delay_seconds',
      help: 'Event loop delay since the last scrape, by quantile (sampled every 20 ms)',
      labelNames: ['quantile'],
      registers,
      collect() {
        this.set({ quantile: '0.5' }, delay.percentile(50) / 1e9);
        this.set({ quantile: '0.99' }, delay.percentile(99) / 1e9);
        this.set({ quantile: '1' }, delay.max / 1e9);
        delay.reset();
      },
    });
    new Gauge({
      name: 'kartei_process_start_time_seconds',
      help: 'When the server process started (Unix time)',
      registers,
    }).set(Math.round(Date.now() / 1000 - process.uptime()));
  }

  /** Stops the event loop's sampling. */
  close(): void {
    this.loopDelay?.disable();
  }

  /** One answered HTTP request; `route` is the pattern Fastify matched, or undefined. */
  observeHttp(method: string, route: string | undefined, status: number, seconds: number): void {
    const m = METHODS.has(method) ? method : 'OTHER';
    const r = route ?? '(unmatched)';
    let byRoute = this.children.get(m);
    if (!byRoute) {
      byRoute = new Map();
      this.children.set(m, byRoute);
    }
    let byStatus = byRoute.get(r);
    if (!byStatus) {
      byStatus = new Map();
      byRoute.set(r, byStatus);
    }
    let child = byStatus.get(status);
    if (!child) {
      child = this.http.labels(m, r, String(status));
      byStatus.set(status, child);
    }
    child.observe(seconds);
  }

  /** A DICOM operation's gate run (`action` from the closed set of gate actions). */
  observeDimse(action: string, outcome: string, seconds: number): void {
    this.gate.labels(action, outcome).observe(seconds);
  }

  association(outcome: 'allowed' | 'denied'): void {
    this.associations.labels(outcome).inc();
  }

  /** One fetched DEMIS notification handed to the inbox's import. */
  demisImport(outcome: string): void {
    this.demisImports.labels(outcome).inc();
  }

  /** One audit append; `seconds` when this one was timed. */
  auditAppended(seconds?: number): void {
    this.counts.auditAppends++;
    if (seconds !== undefined) this.auditAppend.observe(seconds);
  }

  /** One durable group commit: how many transactions it answered and how long its WAL sync took. */
  committed(jobs: number, syncSeconds: number): void {
    this.commitSync.observe(syncSeconds);
    this.commitBatch.observe(jobs);
  }

  /** A queue whose depth is read at each scrape. */
  queue(name: string, depth: () => number): void {
    this.queues.set(name, depth);
  }

  /** The text exposition format. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
