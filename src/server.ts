// The composition root: builds, starts and stops one Kartei server. In this
// order: the data directory's lock, the services (src/services.ts), the HTTP
// app, the store's recovery (before anything listens), the setup link, the
// HTTP listener, the DIMSE listener with the gate and use cases it needs
// (built here, once), the DEMIS poller (when there is an inbox import to hand
// notifications to), and the audit's checkpoint each minute. Stopping runs the
// other way: DEMIS poller → listeners → app → last attempts and checkpoint →
// services → lock. `kartei serve` (src/cli/main.ts) and the tests (test/helpers/harness.ts)
// start the same server through `startServer`; options say what tests need.
// `withServicesOnly` opens the services alone for the CLI's offline commands.
import fs from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { checkStartable, ConfigError, type Config } from './config/config.ts';
import { refuseUnusableListenerFiles } from './config/tls-start.ts';
import { inTenantTransaction } from './db/connect.ts';
import type { MigrationProgress } from './db/migrate.ts';
import { buildApp, type AppOptions } from './http/app.ts';
import { deviceByAeTitle, identifyDevice } from './imaging/device-registry.ts';
import type { DimseDeps } from './imaging/dimse/dimse-deps.ts';
import { startDimseListener, type DimseListener } from './imaging/dimse/listener.ts';
import { TEST_PAUSE_VARIABLE } from './imaging/instance-writer.ts';
import { retrieveInstances } from './imaging/retrieve-instances.ts';
import { searchArchive } from './imaging/search-archive.ts';
import { IncomingInstance } from './imaging/store-instance.ts';
import { recoverStore, type RecoveryReport } from './imaging/store-recovery.ts';
// Issue 17: documents
import { recoverDocuments } from './desk/documents-recovery.ts';
import { lockDataDir } from './ops/serve-lock.ts';
// Issue 19: backup
import { refuseWhileRestoring } from './ops/backup-lock.ts';
import { createServices, type Services } from './services.ts';
import { DemisPoller, type PollerOptions } from './demis/connection/poller.ts';
// Issue 19: ops
import { StorageSpace } from './ops/storage-space.ts';
import { ReadinessCheck } from './ops/readiness.ts';
import { Metrics } from './ops/metrics.ts';
import { startMetricsListener, type MetricsListener } from './ops/metrics-listener.ts';
import { KarteiError } from './errors.ts';
// Issue 19: keys
import { TlsReloader, type SecureContextTarget, type TlsReloadOutcome } from './config/tls-reload.ts';
import { DEPLOYMENT_CHAIN } from './db/schema.ts';
// Issue 19: instances
import { InstanceRegistry } from './db/instances.ts';
import { instanceFacts } from './ops/instances.ts';
import { claimSetupToken, isSetUp, SETUP_TOKEN_FILE } from './identity/setup.ts';
import path from 'node:path';

const CHECKPOINT_INTERVAL_MS = 60_000;

interface ServerOptions {
  /** Progress of the database migrations (the CLI's bar). */
  progress?: MigrationProgress;
  /** The login clock (TOTP time steps); tests move it forward. */
  clock?: () => number;
  /** The app's logger and extra routes (the benchmark's). */
  app?: AppOptions;
  /** Listen for HTTP on the configured address (default); false: requests only through `app.inject` (tests). */
  listen?: boolean;
  /** Start the DIMSE listener when the configuration has one (default); false: never. */
  dimse?: boolean;
  /** Take the data directory's lock (default); false only where one process opens it twice on purpose. */
  lock?: boolean;
  /** Flush aggregated attempts and sign a checkpoint each minute and at the stop (default); false: neither. */
  checkpoints?: boolean;
  /**
   * The DEMIS poller: the import it hands bundles to (default: the one `services` offers) and its
   * timing; false: not started. Started only when there is an import to hand to.
   */
  demis?: Partial<Pick<PollerOptions, 'importBundle' | 'tickMs' | 'timeoutMs' | 'backoff' | 'random'>> | false;
}

export interface Server {
  config: Config;
  services: Services;
  app: FastifyInstance;
  /** What the DIMSE handlers are given: the gate and the archive's use cases (also for a test's own listener). */
  dimseDeps: DimseDeps;
  /** The HTTP listener's address, when it listens. */
  url?: string;
  /** The DIMSE listener, when started. */
  dicom?: DimseListener;
  /** The one-time setup token of an installation not set up yet (null once it is). */
  setupToken: string | null;
  /** What the store's recovery found at start. */
  recovered: RecoveryReport;
  // Issue 19: ops
  /** The metrics listener's address (`…/metrics`), when it listens. */
  metricsUrl?: string;
  /** Stops everything in order; a second call waits for the first. */
  stop(): Promise<void>;
  // Issue 19: keys
  /**
   * Reads the HTTPS and DICOM certificates again and takes each one that is whole; a refused one
   * leaves the listener with its old certificate. Logged and audited (never key material).
   */
  reloadTls(): Promise<TlsReloadOutcome[]>;
  // Issue 19: instances
  /** Not set up yet, and another live instance printed the setup link: where it runs (`setupToken` is null then). */
  setupLinkElsewhere?: { host: string; pid: number; startedAt: string };
  /** This server's row in the instance registry (src/db/instances.ts). */
  registry: InstanceRegistry;
}

/** The gate and the archive's use cases, bound once to the services: all the DIMSE server is given. */
function dimseDeps(s: Services): DimseDeps {
  return {
    gate: s.gate,
    identifyDevice: (caller) => identifyDevice(s.store.db, caller),
    deviceByAeTitle: (tenantId, aeTitle) =>
      inTenantTransaction(s.store, tenantId, (tx) => deviceByAeTitle(tx, tenantId, aeTitle)),
    departmentKey: (tenantId, departmentId) =>
      inTenantTransaction(s.store, tenantId, (tx) => s.keyring.departmentKey(tx, tenantId, departmentId)),
    audit: async (event) =>
      void (await inTenantTransaction(s.store, event.tenantId, (tx) => s.audit.append(tx, event))),
    auditAttempt: (event, address, kind) => s.audit.attempts.record(event, address, kind),
    storeInstance: (request) => new IncomingInstance({ ...request, instances: s.instances, keyring: s.keyring }),
    searchArchive: (ctx, search) => searchArchive(ctx, s.keyring, search),
    retrieveInstances: (ctx, retrieval) => retrieveInstances(ctx, s.keyring, s.instances, retrieval),
  };
}

/** The services alone, without a listener or the lock, closed after `run` (`kartei audit verify`, `kartei doctor`). */
export async function withServicesOnly<T>(
  config: Config,
  run: (s: Services) => Promise<T>,
  progress?: MigrationProgress,
): Promise<T> {
  const s = await createServices(config, { progress });
  try {
    return await run(s);
  } finally {
    await s.close();
  }
}

export async function startServer(config: Config, opts: ServerOptions = {}): Promise<Server> {
  checkStartable(config);
  // Issue 18: the certificates, keys and token the listeners read, refused before anything listens.
  // Issue 19: s25-start-files — read once: the listeners are given what was checked, never the files again.
  const listenerFiles = refuseUnusableListenerFiles(config);
  fs.mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  // Issue 19: backup — never on a data directory a restore has not finished filling.
  refuseWhileRestoring(config.dataDir);
  const unlock = opts.lock === false ? () => undefined : lockDataDir(config.dataDir);
  let services: Services | undefined;
  let app: FastifyInstance | undefined;
  let dicom: DimseListener | undefined;
  let timer: NodeJS.Timeout | undefined;
  let demis: DemisPoller | undefined;
  // Issue 19: ops
  let metricsListener: MetricsListener | undefined;
  // Issue 19: keys
  let stopTlsWatch: () => void = () => undefined;
  // Issue 19: instances
  let registry: InstanceRegistry | undefined;
  const checkpoints = opts.checkpoints !== false;
  const shutDown = async () => {
    clearInterval(timer);
    // Issue 19: keys
    stopTlsWatch();
    try {
      await demis?.stop();
      // Issue 17: letters — the file in hand is finished; unfinished runs go on at the next start.
      await services?.letterRunner.stop();
      // Issue 17: import — a running import ends after its current batch (committed with its position); a head resumes it.
      await services?.imports.stop();
      await dicom?.close();
      // Issue 19: ops
      await metricsListener?.close();
      services?.ops?.metrics?.close();
      services?.ops?.storage.stop();
      await app?.close();
      if (services && checkpoints) {
        await services.audit.attempts.flush(true);
        await services.audit.checkpointAll();
      }
    } finally {
      // Issue 19: instances — stopped last: what this instance held is free for the others only now.
      await registry?.stop().catch(() => undefined);
      await services?.close();
      unlock();
    }
  };
  try {
    services = await createServices(config, { progress: opts.progress, clock: opts.clock });
    const s = services;
    // Issue 19: ops — free space watched, readiness, and metrics (hooked in here, in the composition root).
    const storage = new StorageSpace(config);
    const metrics = config.metrics ? new Metrics({ storage, defaults: opts.listen !== false }) : undefined;
    s.ops = { storage, readiness: new ReadinessCheck(s.store, storage, config), metrics };
    if (metrics) observeForMetrics(s, metrics);
    app = await buildApp(s, { ...opts.app, tls: listenerFiles.https?.options }); // Issue 19: s25-start-files
    const log = app.log;
    storage.start(log.child({ component: 'storage' }));
    if (process.env.NODE_ENV === 'test' && process.env[TEST_PAUSE_VARIABLE])
      log.warn({ variable: TEST_PAUSE_VARIABLE }, 'test hook active: stored files wait before they are indexed');
    // Before anything listens: what a crash left of a store is finished off (counts only in the log).
    const recovered = await recoverStore({ store: s.store, images: s.images, audit: s.audit, dataDir: config.dataDir });
    const { partial, orphans, kept } = recovered;
    if (kept > 0)
      log.error(
        { partial, orphans, kept },
        'image store: more unindexed instance files than a crash leaves; none removed (is the database older than the images?)',
      );
    else if (partial + orphans > 0)
      log.warn({ partial, orphans }, 'image store recovered: removed what an interrupted store left behind');
    else log.info('image store: nothing to recover');
    // Issue 17: documents — what an interrupted upload or an undone version left of the documents' files.
    const documents = await recoverDocuments({ store: s.store, files: s.documents.files, audit: s.audit });
    if (documents.kept > 0)
      log.error(documents, 'documents: more unnamed document files than a crash leaves; none removed');
    else if (documents.partial + documents.orphans > 0)
      log.warn(documents, 'documents recovered: removed what an interrupted upload or version left behind');
    s.audit.alarm = (chain, r) =>
      log.fatal({ chain, seq: r.seq, problem: r.problem }, 'audit checkpoint refused: the chain does not verify');
    // Issue 19: instances — registered before its setup link is claimed; beats every 10 s until the stop.
    registry = new InstanceRegistry(s.store, instanceFacts(s.instanceId, config, s));
    // Issue 19: clock-pg — this host's clock against the database's, measured at every heartbeat.
    registry.onClockSkew = (skew, off) => {
      if (off) log.warn({ skewMs: skew.ms, withinMs: skew.within }, "this host's clock is off the database's (NTP?)");
      else log.info({ skewMs: skew.ms, withinMs: skew.within }, "this host's clock agrees with the database's again");
    };
    await registry.register();
    // Runs and imports are claimed for this instance in the database.
    s.letterRunner.instanceId = s.instanceId;
    s.imports.instanceId = s.instanceId;
    registry.onError = (e) => log.error({ err: e }, 'instance heartbeat not written');
    // Issued before anything listens: once the server answers, the token exists (or another instance holds it).
    const claim = await claimSetupToken(s.store, config.dataDir, registry.facts);
    const setupToken = claim && 'token' in claim ? claim.token : null;
    const setupLinkElsewhere = claim && 'printedBy' in claim ? claim.printedBy : undefined;
    if (setupToken) {
      // Setup may be finished through another instance: this one's token file goes once it is.
      const tokenFile = path.join(config.dataDir, SETUP_TOKEN_FILE);
      registry.onBeat = async () => {
        if (fs.existsSync(tokenFile) && (await isSetUp(s.store))) fs.rmSync(tokenFile, { force: true });
      };
    }
    const url = opts.listen === false ? undefined : await app.listen({ host: config.host, port: config.port });
    const deps = dimseDeps(s);
    // Issue 19: ops — the DICOM operations' gate runs, timed and counted by action and outcome.
    if (metrics) deps.gate = timedGate(deps.gate, metrics);
    // Issue 19: ops — its own listener; a port taken is logged, not fatal: metrics are not worth refusing service.
    if (metrics && config.metrics && opts.listen !== false)
      metricsListener = await startMetricsListener(metrics, config.metrics, config.tls, {
        // Issue 19: s25-start-files
        token: listenerFiles.metricsToken,
        tls: listenerFiles.https?.options,
      }).catch((e) => {
        // s24-review: why, as `problem` (the logger redacts every `*.code`): the refusal's code or the
        // system's (a port taken); never the token. (s25: the token's own refusals stop the start before.)
        const problem = e instanceof ConfigError ? e.refusal?.code : (e as { code?: unknown }).code;
        log.error({ problem: String(problem ?? 'error'), port: config.metrics!.port }, 'metrics listener not started');
        return undefined;
      });
    if (metricsListener) log.info({ url: metricsListener.url }, 'metrics listener started');
    if (config.dicom && opts.dimse !== false) {
      dicom = await startDimseListener(config.dicom, {
        deps,
        log: (e) => log.error({ err: e }, 'association failed'),
        tls: listenerFiles.dicom?.options, // Issue 19: s25-start-files
      });
      log.info({ aeTitle: config.dicom.aeTitle, port: dicom.port, tls: !!config.dicom.tls }, 'DICOM listener started');
    }
    // DEMIS: each office's configured connection is polled on its schedule, into the inbox's import.
    const importBundle = opts.demis === false ? undefined : (opts.demis?.importBundle ?? s.importDemisBundle);
    // Issue 19: ops — each fetched notification's import counted by outcome.
    const importCounted: typeof importBundle =
      importBundle && metrics
        ? (...args) =>
            importBundle(...args).then(
              (r) => {
                metrics.demisImport('ok');
                return r;
              },
              (e) => {
                metrics.demisImport(e instanceof KarteiError ? e.code : 'error');
                throw e;
              },
            )
        : importBundle;
    if (importBundle && opts.demis !== false) {
      demis = new DemisPoller({
        ...opts.demis,
        store: s.store,
        keyring: s.keyring,
        audit: s.audit,
        importBundle: importCounted!, // Issue 19: ops
        log: log.child({ component: 'demis' }),
        caFile: config.demisCaFile,
        // Issue 19: instances — an office's poll claimed for this instance in the database.
        instanceId: s.instanceId,
      });
      s.demisPoller = demis;
      demis.start();
    }
    // Issue 17: letters — bulk runs a stop or a crash interrupted go on.
    // Its code and the run's id only: an error's message or stack may carry a value of the file (src/http/logger.ts).
    s.letterRunner.onError = (e, runId) =>
      log.error({ runId, code: (e as { code?: unknown } | null)?.code ?? 'error' }, 'letter run stopped');
    await s.letterRunner.start();
    // Each minute: the counts of aggregated attempts whose minute is over, then a checkpoint that signs them too.
    if (checkpoints)
      timer = setInterval(
        () =>
          s.audit.attempts
            .flush()
            .then(() => s.audit.checkpointAll())
            .catch((e) => log.error({ err: e }, 'checkpoint failed')),
        CHECKPOINT_INTERVAL_MS,
      );
    // Issue 19: keys — certificates reloaded on request (SIGHUP in `kartei serve`) and when their files change.
    const tlsReloader = new TlsReloader();
    // Issue 19: s25-start-files — each with the material it started with (the files are not read again).
    const https = listenerFiles.https;
    if (config.tls) tlsReloader.add('https', config.tls, app.server as unknown as SecureContextTarget, https);
    if (config.dicom?.tls && dicom?.setSecureContext)
      tlsReloader.add('dicom', config.dicom.tls, { setSecureContext: dicom.setSecureContext }, listenerFiles.dicom);
    // Issue 19: ops2 — the metrics listener's HTTPS (beyond loopback) uses the server's certificate: reloaded with it.
    if (config.tls && metricsListener?.setSecureContext)
      tlsReloader.add('metrics', config.tls, { setSecureContext: metricsListener.setSecureContext }, https);
    const reloadTls = async () => {
      const outcomes = tlsReloader.reload();
      for (const o of outcomes) {
        if (o.result === 'refused')
          log.error(
            { listener: o.listener, problem: o.problem, reason: o.reason }, // Issue 19: s25-start-files: problem
            'TLS certificate not reloaded: the old one stays',
          );
        else log.info({ listener: o.listener, subject: o.subject, validTo: o.validTo }, `TLS certificate ${o.result}`);
        if (o.result === 'unchanged') continue;
        await inTenantTransaction(s.store, DEPLOYMENT_CHAIN, (tx) =>
          s.audit.append(tx, {
            tenantId: DEPLOYMENT_CHAIN,
            actorId: null,
            action: 'keys.tls.reload',
            resourceType: 'certificate',
            outcome: o.result === 'reloaded' ? 'allowed' : 'error',
            detail: { listener: o.listener, result: o.result, ...(o.validTo ? { validTo: o.validTo } : {}) },
          }),
        ).catch((e) => log.error({ err: e }, 'TLS reload not audited'));
      }
      return outcomes;
    };
    stopTlsWatch = watchFiles(
      tlsReloader.files,
      config.tlsWatchMs,
      () => void reloadTls().catch((e) => log.error({ err: e }, 'TLS reload failed')),
    );
    let stopping: Promise<void> | undefined;
    return {
      reloadTls,
      config,
      services: s,
      app,
      dimseDeps: deps,
      url,
      dicom,
      setupToken,
      // Issue 19: instances
      ...(setupLinkElsewhere ? { setupLinkElsewhere } : {}),
      registry,
      recovered,
      // Issue 19: ops
      metricsUrl: metricsListener?.url,
      stop: () => (stopping ??= shutDown()),
    };
  } catch (e) {
    await shutDown().catch(() => undefined);
    throw e;
  }
}

// Issue 19: ops
/**
 * The audit's appends counted, one in AUDIT_SAMPLE timed, and the group commit's batches (SQLite) — hooked
 * here rather than in their modules' code paths: an untimed append costs one increment and a call.
 */
function observeForMetrics(s: Services, metrics: Metrics): void {
  const audit = s.audit;
  const append = audit.append.bind(audit);
  let n = 0;
  audit.append = (tx, e) => {
    if (e.action === 'dicom.associate') metrics.association(e.outcome === 'allowed' ? 'allowed' : 'denied');
    if (++n % AUDIT_SAMPLE !== 0) {
      metrics.auditAppended();
      return append(tx, e);
    }
    const t0 = performance.now();
    return append(tx, e).then((seq) => {
      metrics.auditAppended((performance.now() - t0) / 1000);
      return seq;
    });
  };
  const committer = s.store.committer;
  if (committer) {
    committer.observe = (jobs, seconds) => metrics.committed(jobs, seconds);
    metrics.queue('db-transactions', () => committer.waiting);
  }
}

/** One audit append in this many is timed (the count is exact). */
const AUDIT_SAMPLE = 16;

/** The DIMSE handlers' gate, each run timed with its action and outcome (ok, or the refusal's code). */
function timedGate(gate: DimseDeps['gate'], metrics: Metrics): DimseDeps['gate'] {
  return {
    run: async (principal, action, ref, work) => {
      const t0 = performance.now();
      let outcome = 'ok';
      try {
        return await gate.run(principal, action, ref, work);
      } catch (e) {
        outcome = e instanceof KarteiError ? e.code : 'error';
        throw e;
      } finally {
        metrics.observeDimse(action, outcome, (performance.now() - t0) / 1000);
      }
    },
  };
}

// Issue 19: keys
/** Calls `changed` (once per burst, after a second's quiet) when one of `files` changes; 0 ms: never. */
function watchFiles(files: string[], intervalMs: number, changed: () => void): () => void {
  if (intervalMs <= 0 || files.length === 0) return () => undefined;
  let quiet: NodeJS.Timeout | undefined;
  const onChange = (now: fs.Stats, before: fs.Stats) => {
    if (now.mtimeMs === before.mtimeMs && now.ino === before.ino && now.size === before.size) return;
    clearTimeout(quiet);
    quiet = setTimeout(changed, 1_000);
    quiet.unref();
  };
  for (const f of new Set(files)) fs.watchFile(f, { interval: intervalMs, persistent: false }, onChange);
  return () => {
    clearTimeout(quiet);
    for (const f of new Set(files)) fs.unwatchFile(f, onChange);
  };
}
