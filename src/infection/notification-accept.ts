// Accepting a notification into the person's IfSG case: creates the case (a record of type
// `ifsg-case`) or updates the person's existing case of that disease, adding the notification and
// filling only the facts still empty — what staff entered is never overwritten. Two gate runs:
// `notification.accept` on the notification reads what to accept; then `record.create` on the file
// (or `record.update` on its case) writes the case AND closes the notification in one transaction,
// on top of the notification's edit version, so a second accept (a double click, a retry) finds
// it moved on and is refused with 409 instead of making a second case.
import type { Gate, GateContext } from '../access/gate.ts';
import type { Principal } from '../access/policy.ts';
import type { ParsedNotification } from '../demis/codec/notification.ts';
import { fieldRefused } from '../errors.ts';
import type { IfsgCaseContent } from '../records/record-types.ts';
import type { Records } from '../records/records.ts';
import { lockFile, stale } from '../records/persons.ts';
import type { Keyring } from '../vault/keyring.ts';
import type { CaseIndex } from './case-index.ts';
import { caseAccepted, currentFacts, markAccepted } from './inbox.ts';

export interface AcceptInput {
  status: IfsgCaseContent['status'];
  category?: IfsgCaseContent['category'];
  version: number;
}

const day = (v: string | undefined) => (v && /^\d{4}-\d{2}-\d{2}/.test(v) ? v.slice(0, 10) : undefined);

/** The case's facts as the notification gives them (only what it states). */
function caseFactsOf(n: ParsedNotification): Partial<IfsgCaseContent> & Pick<IfsgCaseContent, 'disease'> {
  const notifier = [n.notifier.organisation, n.notifier.person].filter(Boolean).join(', ');
  const c = n.clinical;
  const facts: Partial<IfsgCaseContent> = {
    pathogen: n.pathogen,
    notifiedOn: day(n.notifiedAt),
    notifier: notifier ? notifier.slice(0, 500) : undefined,
    onset: day(c?.onset),
    diagnosedOn: day(c?.diagnosedAt),
    hospitalised: c?.hospitalised,
    hospitalisedFrom: day(c?.hospitalisedFrom),
    died: c?.died,
    diedOn: day(c?.diedOn),
  };
  const disease = {
    system: n.disease.system,
    code: n.disease.code,
    ...(n.disease.display ? { display: n.disease.display } : {}),
  };
  return Object.fromEntries(
    Object.entries({ disease, ...facts }).filter(([, v]) => v !== undefined),
  ) as Partial<IfsgCaseContent> & Pick<IfsgCaseContent, 'disease'>;
}

export async function acceptNotification(
  s: { gate: Gate; keyring: Keyring; records: Records; cases: CaseIndex },
  principal: Principal,
  notificationId: string,
  input: AcceptInput,
  /** The first run, `notification.accept` on the notification (the route's declared action). */
  decided: <T>(work: (ctx: GateContext) => Promise<T>) => Promise<T>,
) {
  const read = await decided(async (ctx) => {
    const { row, facts } = await currentFacts(ctx, s, notificationId);
    if (row.state === 'closed')
      throw fieldRefused('conflict', 'state', 'notification-closed', 'The notification is closed already');
    if (row.version !== input.version) throw stale(row.version);
    if (!row.person_id)
      throw fieldRefused('validation-failed', 'personId', 'person-required', 'link or create the person first');
    const existing = await s.cases.findCase(ctx, row.person_id, facts.disease.code);
    ctx.audit.detail = { existingCase: existing !== null };
    return { personId: row.person_id, facts, existing };
  });
  const notifiedFacts = caseFactsOf(read.facts);
  if (read.existing) {
    const recordId = read.existing;
    return s.gate.run(principal, 'record.update', { kind: 'record', recordId }, async (ctx) => {
      const current = await s.records.get(ctx, recordId);
      const content = current.content as IfsgCaseContent;
      const merged: Record<string, unknown> = { ...content };
      for (const [k, v] of Object.entries(notifiedFacts)) if (merged[k] === undefined) merged[k] = v;
      merged.status = input.status;
      if (input.category) merged.category = input.category;
      const ids = new Set(content.notificationIds ?? []);
      ids.add(notificationId);
      merged.notificationIds = [...ids];
      // The notification moves on first: a parallel accept stops here.
      const changed = await markAccepted(ctx, notificationId, input.version);
      await s.records.update(ctx, recordId, { content: merged, version: current.version });
      await caseAccepted(ctx, notificationId, recordId);
      ctx.audit.detail = { notification: notificationId, created: false };
      return { ...changed, caseRecordId: recordId, created: false };
    });
  }
  return s.gate.run(
    principal,
    'record.create',
    { kind: 'person', personId: read.personId, sensitivity: 'normal' },
    async (ctx) => {
      // A case of the disease made meanwhile (by hand or another notification): accept again, onto it. Looked for
      // while holding the file's record writes, so two notifications of the disease accepted at once make one case.
      await lockFile(ctx, read.personId);
      if (await s.cases.findCase(ctx, read.personId, read.facts.disease.code))
        throw fieldRefused('conflict', 'state', 'notification-closed', 'A case of this disease was made meanwhile');
      const content = {
        notifiedOn: ctx.now.slice(0, 10),
        ...notifiedFacts,
        status: input.status,
        ...(input.category ? { category: input.category } : {}),
        notificationIds: [notificationId],
      };
      // The notification moves on first: a parallel accept stops here, before it writes a case.
      const changed = await markAccepted(ctx, notificationId, input.version);
      const recordId = await s.records.create(ctx, read.personId, {
        type: 'ifsg-case',
        sensitivity: 'normal',
        content,
      });
      await caseAccepted(ctx, notificationId, recordId);
      ctx.audit.detail = { notification: notificationId, created: true };
      return { ...changed, caseRecordId: recordId, created: true };
    },
  );
}
