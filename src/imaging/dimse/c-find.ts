// C-FIND at patient, study, series and image level (Patient Root and Study
// Root), confined to the device's department: the identifier's keys select,
// its empty keys ask for values; each match is one pending response. The
// search and its audit (match count, an event per person's file it showed)
// are the archive's one search use case (search-archive.ts), as for QIDO-RS.
import { KarteiError } from '../../errors.ts';
import { Status } from '../dicom/command.ts';
import { writeDataset, type WriteElement } from '../dicom/dataset-writer.ts';
import { SPECIFIC_CHARACTER_SET } from '../dicom/element-header.ts';
import { Tag, vrOf } from '../dicom/tags.ts';
import type { Dataset } from '../dicom/values.ts';
import type { Level, Values } from '../match-attributes.ts';
import { MAX_MATCHES } from '../search-archive.ts';
import { gatedService } from './service-classes.ts';
import { IdentifierMessage, queryOf, queryRetrieveService } from './identifier-message.ts';

class FindOperation extends IdentifierMessage {
  protected readonly service = cFind;

  protected async run(identifier: Dataset, level: Level, encoding: 'implicit-le' | 'explicit-le') {
    let results: Values[];
    try {
      results = await gatedService(this.scope, this.service, (ctx) =>
        this.scope.deps.searchArchive(ctx, {
          departments: [ctx.principal.device!.departmentId],
          level,
          query: queryOf(identifier),
          offset: 0,
          limit: MAX_MATCHES,
        }),
      );
    } catch (e) {
      return this.answer(refusalStatus(e), 'query refused or failed');
    }
    const requested = [...identifier.keys()].filter(
      (t) => t !== SPECIFIC_CHARACTER_SET && t !== Tag.QueryRetrieveLevel,
    );
    for (const values of results) {
      // Let the association read what arrived meanwhile (a C-CANCEL) before the next response.
      await new Promise((resolve) => setImmediate(resolve));
      if (this.cancelled) return this.answer(Status.Cancel, '');
      const elements: WriteElement[] = [{ tag: Tag.QueryRetrieveLevel, vr: 'CS', value: level }];
      for (const tag of requested)
        elements.push({
          tag,
          vr: identifier.get(tag)!.vr === 'UN' ? (vrOf(tag) ?? 'UN') : identifier.get(tag)!.vr,
          value: values.get(tag) ?? null,
        });
      this.answer(Status.Pending, '', writeDataset(elements, { encoding }));
    }
    this.answer(Status.Success, '');
  }
}

/** A denial by the gate is "not authorized"; anything else a processing failure. */
export const refusalStatus = (e: unknown) =>
  e instanceof KarteiError && (e.code === 'forbidden' || e.code === 'not-found')
    ? Status.NotAuthorized
    : Status.UnableToProcess;

// Alongside, so that a C-CANCEL can arrive between the pending responses.
export const cFind = queryRetrieveService('find', FindOperation);
