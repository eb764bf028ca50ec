// Wires the parts together once per process: store, keys, audit, gate and
// the domain services that only the gate's context can drive.
import fs from 'node:fs';
// Issue 19: instances
import { randomUUID } from 'node:crypto';
import type { Config } from './config/config.ts';
import { openStore, type Store } from './db/connect.ts';
import type { MigrationProgress } from './db/migrate.ts';
import { Keyring } from './vault/keyring.ts';
import { refuseUnopenableOfficeKeys } from './vault/office-keys-check.ts'; // Issue 19: s25-start-files
import { refuseLostMasterKey } from './vault/master-key-lost.ts';
import { MASTER_KEY_FILE } from './vault/master-keys.ts'; // s25: no new master key for a database with offices
import { ensureKeyDir, keyFilePresent } from './vault/key-file.ts';
import { CheckpointSigner } from './audit/signing-key.ts';
import { PrincipalCache } from './identity/principal-cache.ts';
import { AuditLog, chainHeads } from './audit/audit-log.ts';
import { CHAIN_KEY_FILE } from './audit/chain-key.ts';
import { Gate } from './access/gate.ts';
import { Login } from './identity/login.ts';
import { Setup } from './identity/setup.ts';
import { Enrolment } from './identity/enrolment.ts';
import { OwnPassword } from './identity/own-password.ts';
import { Sso } from './identity/sso.ts';
import { Passkeys } from './identity/passkeys.ts';
import { ApiTokens } from './identity/api-tokens.ts';
import { Persons, upgradePersonIndex } from './records/persons.ts';
import { importFromConnection } from './infection/notification-import.ts';
import { CaseIndex } from './infection/case-index.ts';
// Issue 16: outbreaks
import { Outbreaks } from './infection/outbreaks.ts';
// Issue 16: transmission
import { Transmissions } from './infection/transmission.ts';
// Issue 16: cases & contacts
import { ContactIndex, contactTwinsMerge, contactsMerge } from './infection/contact-index.ts';
import { CaseList } from './infection/case-list.ts';
import { Contacts } from './infection/contacts.ts';
import { FollowUps } from './infection/follow-ups.ts';
import { Records } from './records/records.ts';
// Issue 16: person merge
import { PersonMerges } from './records/person-merge.ts';
// Issue 16: seams
import { notificationsMerge } from './infection/notification-merge.ts';
import { Sharing } from './records/sharing.ts';
import { BreakGlass } from './records/break-glass.ts';
import { EmergencySearch } from './records/emergency-search.ts';
// Issue 19: storage-db
import { openSealedStore } from './vault/storage.ts';
import type { SealedStore } from './vault/sealed-store.ts';
import { InstanceStore } from './imaging/instance-store.ts';
import path from 'node:path';
import type { DemisPoller, ImportBundle } from './demis/connection/poller.ts';
// Issue 17: desk
import type { DocumentSink } from './desk/document-sink.ts';
// Issue 17: documents
import { Documents } from './desk/documents.ts';
import { DocumentFiles } from './desk/documents-files.ts';
import { DocumentsMerge } from './desk/documents-merge.ts';
import { Mailroom } from './desk/mailroom.ts';
// Issue 17: tasks
import { Tasks } from './desk/tasks.ts';
import { TaskWorklist } from './desk/tasks-worklist.ts';
import { TaskRules } from './desk/task-rules.ts';
import { tasksMerge } from './desk/tasks-merge.ts';
// Issue 17: letters
import { Templates } from './desk/templates.ts';
import { Letters } from './desk/letters.ts';
import { LetterRunner, LetterRuns } from './desk/letter-runs.ts';
// Issue 17: import
import { Imports } from './desk/import-jobs.ts';
// Issue 19: ops
import type { StorageSpace } from './ops/storage-space.ts';
import type { ReadinessCheck } from './ops/readiness.ts';
import type { Metrics } from './ops/metrics.ts';

export interface Services {
  config: Config;
  store: Store;
  keyring: Keyring;
  signer: CheckpointSigner;
  audit: AuditLog;
  gate: Gate;
  login: Login;
  setup: Setup;
  enrolment: Enrolment;
  ownPassword: OwnPassword;
  /** Single sign-on with each office's OpenID provider. */
  sso: Sso;
  passkeys: Passkeys;
  apiTokens: ApiTokens;
  persons: Persons;
  records: Records;
  /** The facts of each IfSG case beside its record (issue 16): finding a person's case of a disease, lists, numbers. */
  cases: CaseIndex;
  // Issue 16: outbreaks
  /** A department's outbreaks: facts, timeline, cases by status; adding a case updates its record. */
  outbreaks: Outbreaks;
  // Issue 16: person merge
  /** Two files of one department found to be one person, merged (pending until a second person confirms). */
  merges: PersonMerges;
  // Issue 16: transmission
  /** The §11 IfSG transmission of a department's cases (issue 16). */
  transmissions: Transmissions;
  // Issue 16: cases & contacts
  /** A department's cases, filtered and paged. */
  caseList: CaseList;
  /** Contact persons of cases: adding, listing, converting into a case. */
  contacts: Contacts;
  /** Contacts' daily follow-up entries and the department's worklist. */
  followUps: FollowUps;
  sharing: Sharing;
  breakGlass: BreakGlass;
  emergencySearch: EmergencySearch;
  /** Stored DICOM instances, sealed with their department's key. */
  images: SealedStore;
  /** The same files as stored instances: path, binding, write, read, remove (imaging/instance-store.ts). */
  instances: InstanceStore;
  /**
   * The inbox's import of one DEMIS notification bundle (idempotent on its identifier), when the
   * inbox offers one; the server gives it to the DEMIS poller.
   */
  importDemisBundle?: ImportBundle;
  /** The DEMIS poller, once the server has started it (src/server.ts); absent in offline commands. */
  demisPoller?: DemisPoller;
  // Issue 17: desk
  /** Where generated letters and certificates are stored: the file's documents (src/desk/document-sink.ts). */
  documentSink?: DocumentSink;
  // Issue 17: documents
  /** A file's documents (uploads, generated letters) and the mail-room's scans, each version a sealed file. */
  documents: Documents;
  /** Each department's scans not yet in a file. */
  mailroom: Mailroom;
  // Issue 17: tasks
  /** Tasks of a file or a department: created by hand, listed, changed on their version. */
  tasks: Tasks;
  /** A department's worklist: overdue, due today, upcoming. */
  taskWorklist: TaskWorklist;
  // Issue 17: letters
  /** The office's letter templates, every version kept. */
  templates: Templates;
  /** Making a letter in a file (stored through `documentSink`). */
  letters: Letters;
  /** Bulk runs: starting, listing, reading. */
  letterRuns: LetterRuns;
  /** Works through unfinished bulk runs in the background (started and stopped by src/server.ts). */
  letterRunner: LetterRunner;
  // Issue 17: import
  /** A department's imports of existing data from CSV and XLSX: upload, dry run, the import in batches. */
  imports: Imports;
  // Issue 19: ops
  /** The storage watcher, metrics and readiness, once the server has made them (src/server.ts); absent offline. */
  ops?: { storage: StorageSpace; readiness: ReadinessCheck; metrics?: Metrics };
  // Issue 19: instances
  /** This process's id in the instance registry (src/db/instances.ts): new at each start; registered by the server only. */
  instanceId: string;
  // Issue 18: principal cache
  /** SQLite only: sessions' and API tokens' principals between requests, as long as none has changed (`principal-cache.ts`). */
  principals?: PrincipalCache;
  close(): Promise<void>;
}

export interface ServiceOptions {
  progress?: MigrationProgress;
  /** The login clock (TOTP time steps); tests move it forward. */
  clock?: () => number;
}

export async function createServices(config: Config, opts: ServiceOptions = {}): Promise<Services> {
  ensureKeyDir(config.keyDir);
  fs.mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  // An existing master key is read (and refused, if it is unsafe) before anything is opened; a new one is
  // made only for a database that holds no offices (s25: no new master key for data sealed under another).
  const masterFile = path.join(config.keyDir, MASTER_KEY_FILE);
  const existing = keyFilePresent(masterFile) ? Keyring.fromKeyDir(config.keyDir) : undefined; // s25-review: a link to nothing is read (and refused)
  const store = await openStore({
    dataDir: config.dataDir,
    databaseUrl: config.databaseUrl,
    databaseAdminUrl: config.databaseAdminUrl,
    progress: opts.progress,
  });
  // A start refused from here on closes the store first: its WAL checkpoint thread, still loading SQLite's addon
  // while the process ended on the refusal, crashed it (a FATAL ERROR instead of the refusal's words).
  try {
    return await servicesOn(config, opts, store, existing, masterFile);
  } catch (e) {
    await store.close().catch(() => undefined);
    throw e;
  }
}

/** The services on an open store (`createServices`). */
async function servicesOn(
  config: Config,
  opts: ServiceOptions,
  store: Store,
  existing: Keyring | undefined,
  masterFile: string,
): Promise<Services> {
  if (!existing) await refuseLostMasterKey(store, masterFile, config.databaseUrl);
  const keyring = existing ?? Keyring.fromKeyDir(config.keyDir);
  // The chain heads are read only when the chain key is created now: they end the plain SHA-256 links.
  const heads = fs.existsSync(path.join(config.keyDir, CHAIN_KEY_FILE)) ? {} : await chainHeads(store);
  const signer = CheckpointSigner.fromKeyDir(config.keyDir, heads);
  const audit = new AuditLog(store, keyring, signer);
  const persons = new Persons(keyring);
  const cases = new CaseIndex(keyring);
  // Issue 17: tasks — the task rules record types declare follow every record.
  const records = new Records(keyring, { 'ifsg-case': cases, 'ifsg-contact': new ContactIndex() }, [
    new TaskRules(keyring),
  ]);
  // Issue 19: s25-start-files — an office key this key directory cannot open is refused naming master.key.
  await refuseUnopenableOfficeKeys(store, keyring, config.keyDir);
  await upgradePersonIndex(store, keyring, audit);
  // Issue 19: storage-db — where sealed images and documents live is the storage module's choice (KARTEI_STORAGE).
  const images = openSealedStore(config, store, 'images');
  const gate = new Gate(store, audit);
  // Issue 17: documents
  // Issue 19: storage-db (the documents' store, as the images')
  const documentStore = openSealedStore(config, store, 'documents');
  const documents = new Documents(keyring, new DocumentFiles(documentStore));
  // Issue 17: letters (the sink is read when a letter is made: the documents part sets `documentSink` below)
  const templates = new Templates(keyring);
  const letters = new Letters(keyring, persons, records, templates, () => services.documentSink);
  // Issue 17: import
  const imports = new Imports(store, keyring, persons, records);
  // Issue 19: instances — who holds a letter run, an import or a DEMIS poll (src/db/instances.ts).
  const instanceId = randomUUID();
  const services: Services = {
    // DEMIS: what the poller fetches for an office goes into its inbox department, imported as the connection.
    importDemisBundle: (raw, mediaType, _source, office) =>
      importFromConnection({ gate, keyring }, office.tenantId, office.departmentId, raw, mediaType),
    config,
    store,
    ...(store.principalVersion ? { principals: new PrincipalCache(store.principalVersion) } : {}),
    keyring,
    signer,
    audit,
    gate,
    login: new Login(store, keyring, audit, opts.clock, config.publicUrl),
    setup: new Setup(store, keyring, audit, config.dataDir),
    enrolment: new Enrolment(store, keyring, audit),
    ownPassword: new OwnPassword(store, keyring, audit, opts.clock),
    sso: new Sso(store, keyring, audit, config.publicUrl, opts.clock),
    passkeys: new Passkeys(store, keyring, audit, config.publicUrl, opts.clock),
    apiTokens: new ApiTokens(store, keyring, audit, opts.clock),
    persons,
    records,
    cases,
    // Issue 16: outbreaks
    outbreaks: new Outbreaks(keyring, persons, cases),
    // Issue 16: person merge
    // Issue 16: seams (a merge moves the file's contacts and linked notifications too; undo moves them back)
    // Issue 17: documents (a merge moves the file's documents too, re-wrapping their data keys)
    merges: new PersonMerges(keyring, persons, {
      contacts: contactsMerge,
      // One contact per person and case: where both files were contacts of one case, one is kept (after `contacts`)
      contactTwins: contactTwinsMerge(keyring),
      notifications: notificationsMerge,
      documents: new DocumentsMerge(documents),
      // Issue 17: tasks (a file's tasks move with it)
      tasks: tasksMerge(keyring),
    }),
    // Issue 16: transmission
    transmissions: new Transmissions(keyring, records, persons),
    // Issue 16: cases & contacts
    caseList: new CaseList(keyring, cases, persons, records),
    contacts: new Contacts(records, persons, cases),
    followUps: new FollowUps(keyring, persons),
    sharing: new Sharing(keyring),
    breakGlass: new BreakGlass(keyring),
    emergencySearch: new EmergencySearch(keyring, persons),
    images,
    instances: new InstanceStore(images),
    // Issue 17: documents
    documents,
    documentSink: documents,
    mailroom: new Mailroom(documents),
    // Issue 17: tasks
    tasks: new Tasks(keyring),
    taskWorklist: new TaskWorklist(keyring, persons),
    // Issue 17: letters
    templates,
    letters,
    letterRuns: new LetterRuns(templates, persons),
    letterRunner: new LetterRunner(store, gate, letters),
    // Issue 17: import
    imports,
    // Issue 19: instances
    instanceId,
    close: async () => {
      // Issue 17: import — a running import ends after its batch; a later start resumes it.
      await imports.stop();
      // Attempts counted but not yet written go on the record before the store closes.
      await audit.attempts.flush(true);
      // Issue 19: storage-db — the stores' own connections (the database's store), before the database's.
      await Promise.all([images.close?.(), documentStore.close?.()]);
      // Audited reads' events still on their way off the event loop are written before the store closes.
      await audit.close();
      await store.close();
    },
  };
  return services;
}
