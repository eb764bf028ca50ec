// C-FIND at patient, study, series and image level (Patient Root and Study
// Root), confined to the device's department: the identifier's keys select,
// its empty keys ask for values; each match is one pending response. The
// query is audited with its match count, and each person's file it showed
// gets an event of its own for the access report.
import { KarteiError } from '../../errors.ts';
import { CommandField, Status, type Command } from '../dicom/command.ts';
import { writeDataset, type WriteElement } from '../dicom/dataset-writer.ts';
import { SPECIFIC_CHARACTER_SET } from '../dicom/element-header.ts';
import { Tag, vrOf } from '../dicom/tags.ts';
import { QueryRetrieveSopClass } from '../dicom/uids.ts';
import type { Dataset } from '../dicom/values.ts';
import { findInstances, findSeries, findStudies, type StudyMatch } from '../study-query.ts';
import { valuesAt, type Level, type Values } from '../match-attributes.ts';
import { gatedService, type DimseService } from './services.ts';
import { IdentifierMessage, queryOf } from './identifier-message.ts';
import type { AssociationScope } from './association-scope.ts';

const FIND_CLASSES = new Set<string>([QueryRetrieveSopClass.PatientRootFind, QueryRetrieveSopClass.StudyRootFind]);
/** Matches beyond this are not sent; the answer says so. */
export const MAX_MATCHES = 5_000;

export const cFind: DimseService = {
  command: CommandField.CFindRq,
  access: { action: 'dicom.find', resource: 'department' },
  sopClasses: (uid) => FIND_CLASSES.has(uid),
  // Alongside, so that a C-CANCEL can arrive between the pending responses.
  alongside: true,
  start: (scope, command, contextId) => new FindOperation(scope, command, contextId),
};

class FindOperation extends IdentifierMessage {
  constructor(scope: AssociationScope, command: Command, contextId: number) {
    super(scope, command, contextId, FIND_CLASSES, CommandField.CFindRsp);
  }

  protected async run(identifier: Dataset, level: Level, encoding: 'implicit-le' | 'explicit-le') {
    let results: Values[];
    try {
      results = await gatedService(this.scope, cFind, async (ctx) => {
        const { tenantId, device } = { tenantId: ctx.principal.tenantId, device: ctx.principal.device! };
        const { keyring } = this.scope.services;
        const q = queryOf(identifier);
        const studies = await findStudies(ctx.tx, keyring, tenantId, device.departmentId, q, MAX_MATCHES);
        const found = await valuesAt(level, studies, (s) => findSeries(ctx.tx, keyring, tenantId, device.departmentId, s, q), (s) => findInstances(ctx.tx, s, q));
        ctx.audit.detail = { level, matches: found.length };
        ctx.audit.hits = linkedFiles(studies, device.departmentId);
        return found.slice(0, MAX_MATCHES);
      });
    } catch (e) {
      return this.answer(refusalStatus(e), 'query refused or failed');
    }
    const requested = [...identifier.keys()].filter((t) => t !== SPECIFIC_CHARACTER_SET && t !== Tag.QueryRetrieveLevel);
    for (const values of results) {
      // Let the association read what arrived meanwhile (a C-CANCEL) before the next response.
      await new Promise((resolve) => setImmediate(resolve));
      if (this.cancelled) return this.answer(Status.Cancel, '');
      const elements: WriteElement[] = [{ tag: Tag.QueryRetrieveLevel, vr: 'CS', value: level }];
      for (const tag of requested) elements.push({ tag, vr: identifier.get(tag)!.vr === 'UN' ? (vrOf(tag) ?? 'UN') : identifier.get(tag)!.vr, value: values.get(tag) ?? null });
      this.answer(Status.Pending, '', writeDataset(elements, { encoding }));
    }
    this.answer(Status.Success, '');
  }
}

/** The persons' files a query or retrieval showed, each audited on its own for the access report. */
export const linkedFiles = (studies: StudyMatch[], departmentId: string) =>
  [...new Set(studies.flatMap((s) => (s.personId ? [s.personId] : [])))].map((personId) => ({ personId, departmentId }));

/** A denial by the gate is "not authorized"; anything else a processing failure. */
export const refusalStatus = (e: unknown) => (e instanceof KarteiError && (e.code === 'forbidden' || e.code === 'not-found') ? Status.NotAuthorized : Status.UnableToProcess);
