// STOW-RS (PS3.18 10.5): Part 10 instances in a multipart/related body, stored
// into one of the caller's departments (`?department=`, or the only one it
// belongs to). The caller is decided before a byte of the body is read; each
// instance then streams through the same store use case as C-STORE
// (imaging/store-instance.ts) and is indexed and audited in its own
// transaction. The answer lists what was stored and what failed, each failure
// by the status its StoreFailure carries: 200 all, 202 some, 409 none.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services.ts';
import { decide } from '../../access/policy.ts';
import { inTenant } from '../../db/connect.ts';
import { KarteiError, fieldRefused } from '../../errors.ts';
import { Status } from '../../imaging/dicom/command.ts';
import { parsePart10Header, type FileMeta } from '../../imaging/dicom/part10.ts';
import { Tag } from '../../imaging/dicom/tags.ts';
import { datasetLayout, isStorageSopClass, isValidUid } from '../../imaging/dicom/uids.ts';
import { textValue } from '../../imaging/dicom/values.ts';
import { InstanceMismatch } from '../../imaging/instance-writer.ts';
import { IncomingInstance, storeFailure } from '../../imaging/store-instance.ts';
import { MultipartReader, type PartHandler } from '../../imaging/dicomweb-codec/multipart-reader.ts';
import type { DicomJson } from '../../imaging/dicomweb-codec/dicom-json.ts';
import { gated, principalOf } from '../access.ts';
import { id } from '../schemas.ts';
import { studyParams } from './dicomweb-params.ts';

const STORE = { actions: ['study.store'], resource: 'department' } as const;
const STORED = { raw: 'application/dicom+json: the STOW-RS store response (PS3.18 10.5.3)' };
/** A Part 10 header longer than this is not one. */
const MAX_PART10_HEADER = 64 * 1024;
/** Instances in one request; the answer lists each. */
const MAX_PARTS = 10_000;

interface Outcome {
  sopClassUid: string;
  sopInstanceUid: string;
  /** A DIMSE status as the failure reason (PS3.18 10.5.3); undefined when stored. */
  failure?: number;
  studyUid?: string;
  seriesUid?: string;
}

/** The boundary of a `multipart/related; type="application/dicom"` body; 415 for anything else. */
function boundaryOf(contentType: string | undefined): string {
  const params: Record<string, string> = Object.fromEntries(
    (contentType ?? '')
      .split(';')
      .slice(1)
      .map((p) => {
        const eq = p.indexOf('=');
        return [
          p.slice(0, eq).trim().toLowerCase(),
          p
            .slice(eq + 1)
            .trim()
            .replace(/^"|"$/g, ''),
        ];
      }),
  );
  const ok =
    /^multipart\/related\s*(;|$)/i.test(contentType ?? '') &&
    (params.type ?? '').toLowerCase() === 'application/dicom' &&
    !!params.boundary;
  if (!ok)
    throw new KarteiError(
      'unsupported-media-type',
      'Content-Type: send multipart/related; type="application/dicom"; boundary=…',
      { field: 'Content-Type' },
    );
  return params.boundary!;
}

/** The department to store into: the one named, or the caller's only one. */
function departmentOf(req: FastifyRequest, named: string | undefined): string {
  if (named) return named;
  const mine = [...new Set(principalOf(req).memberships.map((m) => m.departmentId))];
  if (mine.length !== 1)
    throw fieldRefused('validation-failed', 'department', 'department-required', 'name the department to store into');
  return mine[0]!;
}

/** One part: its Part 10 header is read, then the dataset streams into a writer. */
class StowPart implements PartHandler {
  private head: Buffer[] = [];
  private headSize = 0;
  /** The header is parsed again only when the buffered bytes have doubled: linear however small the chunks. */
  private parseAt = 512;
  private writer: IncomingInstance | undefined;
  private meta: FileMeta | undefined;
  private failure: number | undefined;

  private readonly begin: (meta: FileMeta) => IncomingInstance;
  private readonly commit: (writer: IncomingInstance, meta: FileMeta) => Promise<Outcome>;
  private readonly outcomes: Outcome[];
  constructor(
    begin: (meta: FileMeta) => IncomingInstance,
    commit: (writer: IncomingInstance, meta: FileMeta) => Promise<Outcome>,
    outcomes: Outcome[],
  ) {
    this.begin = begin;
    this.commit = commit;
    this.outcomes = outcomes;
  }

  async data(chunk: Buffer) {
    if (this.failure !== undefined) return;
    try {
      if (this.writer) return await this.writer.push(chunk);
      this.head.push(chunk);
      this.headSize += chunk.length;
      if (this.headSize < this.parseAt && this.headSize <= MAX_PART10_HEADER) return;
      this.parseAt = this.headSize * 2;
      const head = Buffer.concat(this.head);
      const parsed = parsePart10Header(head);
      if (!parsed) {
        if (this.headSize > MAX_PART10_HEADER) this.failure = Status.CannotUnderstand;
        return;
      }
      this.meta = parsed.meta;
      this.head = [];
      const {
        mediaStorageSopClassUid: sopClass,
        mediaStorageSopInstanceUid: instance,
        transferSyntaxUid: syntax,
      } = parsed.meta;
      const layout = datasetLayout(syntax);
      if (!isStorageSopClass(sopClass)) this.failure = Status.SopClassNotSupported;
      else if (!isValidUid(instance) || !layout) this.failure = Status.CannotUnderstand;
      else {
        this.writer = this.begin(parsed.meta);
        await this.writer.push(head.subarray(parsed.datasetOffset));
      }
    } catch (e) {
      await this.fail(storeFailure(e).status);
    }
  }

  async end() {
    // A file shorter than the point where its header was to be parsed next.
    if (!this.writer && this.failure === undefined && this.headSize > 0) {
      this.parseAt = 0;
      await this.data(Buffer.alloc(0));
    }
    const meta = this.meta;
    if (this.failure === undefined && this.writer && meta) {
      this.outcomes.push(await this.commit(this.writer, meta));
      return;
    }
    await this.fail(this.failure ?? Status.CannotUnderstand);
    this.outcomes.push({
      sopClassUid: meta?.mediaStorageSopClassUid ?? '',
      sopInstanceUid: meta?.mediaStorageSopInstanceUid ?? '',
      failure: this.failure,
    });
  }

  abort() {
    return this.fail(Status.CannotUnderstand);
  }

  private async fail(status: number) {
    this.failure ??= status;
    await this.writer?.discard();
    this.writer = undefined;
  }
}

const sequence = (items: DicomJson[]) => (items.length ? { vr: 'SQ', Value: items } : { vr: 'SQ' });
const ui = (v: string) => ({ vr: 'UI', Value: [v] });

function response(outcomes: Outcome[]): DicomJson {
  const ref = (o: Outcome): DicomJson => ({ '00081150': ui(o.sopClassUid), '00081155': ui(o.sopInstanceUid) });
  const stored = outcomes.filter((o) => o.failure === undefined);
  const failed = outcomes.filter((o) => o.failure !== undefined);
  return {
    '00081198': sequence(failed.map((o) => ({ ...ref(o), '00081197': { vr: 'US', Value: [o.failure] } }))),
    '00081199': sequence(
      stored.map((o) => ({
        ...ref(o),
        '00081190': {
          vr: 'UR',
          Value: [`/dicom-web/studies/${o.studyUid}/series/${o.seriesUid}/instances/${o.sopInstanceUid}`],
        },
      })),
    ),
  };
}

export function stowRoutes(app: FastifyInstance, s: Services) {
  // The body is read as it streams, by the route itself: no size limit of the JSON parser, no buffering.
  app.addContentTypeParser('multipart/related', (_req, payload, done) => done(null, payload));
  const r = app.withTypeProvider<ZodTypeProvider>();
  const query = z.strictObject({ department: id.optional() });

  const stow = async (
    req: FastifyRequest<{ Params: { study?: string }; Querystring: z.infer<typeof query> }>,
    reply: FastifyReply,
  ) => {
    const boundary = boundaryOf(req.headers['content-type']);
    const principal = principalOf(req);
    const departmentId = departmentOf(req, req.query.department);
    const target = { kind: 'department', departmentId } as const;
    if (decide(principal, 'study.store', target) !== 'allow') {
      // Refused before the body is read; the gate audits the denial and answers it.
      return gated(s, req, 'study.store', target, async () => undefined);
    }
    const key = await inTenant(s.store, principal.tenantId, (tx) =>
      s.keyring.departmentKey(tx, principal.tenantId, departmentId),
    );
    const begin = (meta: FileMeta) =>
      new IncomingInstance({
        instances: s.instances,
        keyring: s.keyring,
        tenantId: principal.tenantId,
        departmentId,
        key,
        receivedFrom: principal.userId,
        meta: {
          mediaStorageSopClassUid: meta.mediaStorageSopClassUid,
          mediaStorageSopInstanceUid: meta.mediaStorageSopInstanceUid,
          transferSyntaxUid: meta.transferSyntaxUid,
        },
        enter: (work) => gated(s, req, 'study.store', target, work),
      });
    const commit = async (incoming: IncomingInstance, meta: FileMeta): Promise<Outcome> => {
      const outcome: Outcome = {
        sopClassUid: meta.mediaStorageSopClassUid,
        sopInstanceUid: meta.mediaStorageSopInstanceUid,
      };
      try {
        await incoming.finish(({ elements }) => {
          outcome.studyUid = textValue(elements, Tag.StudyInstanceUid);
          outcome.seriesUid = textValue(elements, Tag.SeriesInstanceUid);
          if (req.params.study && outcome.studyUid !== req.params.study)
            throw new InstanceMismatch('not of the study named in the path');
        });
        return outcome;
      } catch (e) {
        return { ...outcome, failure: storeFailure(e).status };
      }
    };
    const outcomes: Outcome[] = [];
    const reader = new MultipartReader(boundary, () => {
      if (outcomes.length >= MAX_PARTS)
        throw new KarteiError('payload-too-large', `body: at most ${MAX_PARTS} instances per request`, {
          field: 'body',
        });
      return new StowPart(begin, commit, outcomes);
    });
    try {
      for await (const chunk of req.body as AsyncIterable<Buffer>) await reader.push(chunk);
    } catch (e) {
      await reader.abort();
      throw e;
    }
    await reader.finish();
    const stored = outcomes.filter((o) => o.failure === undefined).length;
    const status = stored === outcomes.length && stored > 0 ? 200 : stored > 0 ? 202 : 409;
    return reply
      .code(status)
      .type('application/dicom+json')
      .send(JSON.stringify(response(outcomes)));
  };
  r.post('/dicom-web/studies', { config: { access: STORE, answers: STORED }, schema: { querystring: query } }, stow);
  r.post(
    '/dicom-web/studies/:study',
    { config: { access: STORE, answers: STORED }, schema: { params: studyParams, querystring: query } },
    stow,
  );
}
