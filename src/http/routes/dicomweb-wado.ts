// WADO-RS (PS3.18 10.4): a study, series or instance as the stored Part 10
// files, their metadata as DICOM JSON, frames, and rendered PNG/JPEG for the
// viewer. Every retrieval is `study.read` on the study, decided and audited
// (with its instance count) before the first byte leaves; what the request
// asks is checked inside that decision, so a refusal is audited as one; the
// bytes are then read and sent outside the transaction.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services.ts';
import { KarteiError } from '../../errors.ts';
import type { InstanceMatch } from '../../imaging/study-query.ts';
import { retrieveInstances } from '../../imaging/retrieve-instances.ts';
import {
  assertFrames,
  frameMediaType,
  indexedPixelModule,
  isNative,
  openInstance,
  pixelModule,
  readAttributes,
  readFrames,
  type SealedInstance,
} from '../../imaging/stored-instance.ts';
import { datasetToJson, jsonTag } from '../../imaging/dicomweb-codec/dicom-json.ts';
import { acceptMultipart, negotiate } from '../../imaging/dicomweb-codec/media-types.ts';
import { freeWhenSent, multipartRelated, type Multipart } from '../../imaging/dicomweb-codec/multipart.ts';
import { renderFrame, renderKind, RENDERED_TYPES } from '../../imaging/dicomweb-codec/render.ts';
import { Tag } from '../../imaging/dicom/tags.ts';
import { numberValue } from '../../imaging/dicom/values.ts';
import { gated } from '../access.ts';
import { instanceParams, seriesParams, studyParams } from './dicomweb-params.ts';

const READ = { actions: ['study.read'], resource: 'study' } as const;
/** WADO-RS answers DICOM bytes (multipart/related), frames, rendered images or the DICOM JSON metadata model: no Kartei contract. */
const BYTES = {
  raw: 'DICOM: multipart/related instances or frames, rendered JPEG/PNG, or application/dicom+json metadata (PS3.18)',
};
/** Frames one request may ask for. */
const MAX_FRAMES_PER_REQUEST = 100;
const frameList = z
  .string()
  .max(1_000)
  .regex(/^[1-9]\d{0,6}(,[1-9]\d{0,6})*$/, 'frame numbers from 1, separated by commas')
  .transform((v) => [...new Set(v.split(',').map(Number))])
  .refine((list) => list.length <= MAX_FRAMES_PER_REQUEST, {
    message: `at most ${MAX_FRAMES_PER_REQUEST} frames`,
    params: { code: 'too-many', max: MAX_FRAMES_PER_REQUEST },
  });
const frameParams = instanceParams.extend({ frames: frameList });
const renderQuery = z.strictObject({
  window: z
    .string()
    .regex(/^-?\d+(\.\d+)?,\d+(\.\d+)?(,linear)?$/i, 'center,width[,linear]')
    .optional(),
  quality: z.coerce.number().int().min(1).max(100).optional(),
});

type Target = { study: string; series?: string; instance?: string };

/**
 * Decides and audits the retrieval, and hands back the instances with the key
 * to open them, and what `prepare` found out about them: it refuses, inside
 * the decision, what cannot be sent as asked.
 */
function retrieval<T>(
  s: Services,
  req: FastifyRequest,
  t: Target,
  what: string,
  prepare: (sealed: SealedInstance[]) => Promise<T> | T,
) {
  return gated(s, req, 'study.read', { kind: 'study', studyUid: t.study }, async (ctx) => {
    const sealed = await retrieveInstances(ctx, s.keyring, s.instances, {
      departmentId: ctx.target.departmentId!,
      query: {
        studyUids: [t.study],
        seriesUids: t.series ? [t.series] : undefined,
        sopInstanceUids: t.instance ? [t.instance] : undefined,
      },
      maxStudies: 1,
      detail: { what },
      auditFiles: false,
    });
    if (sealed.length === 0)
      throw new KarteiError(
        'not-found',
        t.instance ? 'no such instance in this study' : 'no such series in this study',
      );
    const prepared = await prepare(sealed);
    return { sealed, prepared };
  });
}

/** A single instance's attributes and pixel module, read inside the decision. */
async function pixelsOf(sealed: SealedInstance[]) {
  const ds = await readAttributes(sealed[0]!);
  return { ds, px: pixelModule(ds) };
}

const send = (reply: FastifyReply, m: Multipart) => reply.type(m.contentType).send(m.stream);

const instanceUri = (i: InstanceMatch) =>
  `/dicom-web/studies/${i.series.study.studyUid}/series/${i.series.seriesUid}/instances/${i.sopInstanceUid}`;

async function* metadata(sealed: SealedInstance[]) {
  for (const s of sealed) {
    const ds = await readAttributes(s);
    const json = datasetToJson(ds);
    if (s.instance.pixelOffset !== null) {
      // The pixel data is bulk data, sent by reference: its frames, or the instance when they are too many to name.
      const frames = s.instance.frames ?? 1;
      const uri =
        frames <= MAX_FRAMES_PER_REQUEST
          ? `${instanceUri(s.instance)}/frames/${Array.from({ length: frames }, (_, i) => i + 1).join(',')}`
          : instanceUri(s.instance);
      json[jsonTag(Tag.PixelData)] = {
        vr: (numberValue(ds, Tag.BitsAllocated) ?? 8) > 8 && isNative(s.instance.transferSyntaxUid) ? 'OW' : 'OB',
        BulkDataURI: uri,
      };
    }
    yield json;
  }
}

export function wadoRoutes(app: FastifyInstance, s: Services) {
  const r = app.withTypeProvider<ZodTypeProvider>();

  const instances = async (req: FastifyRequest<{ Params: Target }>, reply: FastifyReply) => {
    const syntax = acceptMultipart(req.headers.accept, 'application/dicom').params['transfer-syntax'];
    const { sealed } = await retrieval(s, req, req.params, 'instances', (found) => {
      if (syntax && syntax !== '*' && found.some((x) => x.instance.transferSyntaxUid !== syntax)) {
        throw new KarteiError(
          'not-acceptable',
          'transfer-syntax: instances are sent as stored (use transfer-syntax=*); the archive does not transcode',
          { field: 'Accept' },
        );
      }
    });
    // The decrypted pieces are this response's alone: freed as soon as the socket has written them,
    // the last ones once the response has finished or its connection has closed (a client gone).
    const res = reply.raw;
    const body = multipartRelated(
      'application/dicom',
      sealed.map((x) => ({
        contentType: `application/dicom; transfer-syntax=${x.instance.transferSyntaxUid}`,
        body: openInstance(x),
        releasable: true,
      })),
      { pending: () => (res.destroyed ? Infinity : res.writableLength) },
    );
    freeWhenSent(res, body);
    return send(reply, body);
  };

  const meta = async (req: FastifyRequest<{ Params: Target }>, reply: FastifyReply) => {
    negotiate(req.headers.accept, ['application/dicom+json', 'application/json'] as const);
    const { sealed } = await retrieval(s, req, req.params, 'metadata', () => undefined);
    const out = [];
    for await (const json of metadata(sealed)) out.push(json);
    return reply.type('application/dicom+json').send(JSON.stringify(out));
  };
  // The instances and their metadata, at each of the three levels a retrieval names.
  for (const [path, params] of [
    ['/dicom-web/studies/:study', studyParams],
    ['/dicom-web/studies/:study/series/:series', seriesParams],
    ['/dicom-web/studies/:study/series/:series/instances/:instance', instanceParams],
  ] as const) {
    r.get(path, { config: { access: READ, answers: BYTES }, schema: { params } }, instances);
    r.get(`${path}/metadata`, { config: { access: READ, answers: BYTES }, schema: { params } }, meta);
  }

  r.get(
    '/dicom-web/studies/:study/series/:series/instances/:instance/frames/:frames',
    { config: { access: READ, answers: BYTES }, schema: { params: frameParams } },
    async (req, reply) => {
      const { sealed, prepared } = await retrieval(s, req, req.params, 'frames', async (found) => {
        const type = frameMediaType(found[0]!.instance.transferSyntaxUid);
        acceptMultipart(req.headers.accept, type);
        const px = indexedPixelModule(found[0]!.instance) ?? (await pixelsOf(found)).px;
        assertFrames(found[0]!, px, req.params.frames);
        return { type, px };
      });
      const frames = await readFrames(sealed[0]!, prepared.px, req.params.frames);
      const contentType = `${prepared.type}; transfer-syntax=${sealed[0]!.instance.transferSyntaxUid}`;
      return send(
        reply,
        multipartRelated(
          prepared.type,
          frames.map((body) => ({ contentType, body })),
        ),
      );
    },
  );

  const rendered = async (
    req: FastifyRequest<{ Params: Target & { frames?: string }; Querystring: z.infer<typeof renderQuery> }>,
    reply: FastifyReply,
  ) => {
    const type = negotiate(req.headers.accept, RENDERED_TYPES);
    const n = req.params.frames ? Number(req.params.frames) : 1;
    const { sealed, prepared } = await retrieval(s, req, req.params, 'rendered', async (found) => {
      const { ds, px } = await pixelsOf(found);
      assertFrames(found[0]!, px, [n]);
      renderKind(ds, px, found[0]!.instance.transferSyntaxUid);
      return { ds, px };
    });
    const { ds, px } = prepared;
    const [frame] = await readFrames(sealed[0]!, px, [n]);
    const [center, width] = req.query.window?.split(',').map(Number) ?? [];
    const image = await renderFrame(ds, px, sealed[0]!.instance.transferSyntaxUid, frame!, {
      type,
      quality: req.query.quality,
      window: width ? { center: center!, width } : undefined,
    });
    return reply.type(type).send(image);
  };
  r.get(
    '/dicom-web/studies/:study/series/:series/instances/:instance/rendered',
    { config: { access: READ, answers: BYTES }, schema: { params: instanceParams, querystring: renderQuery } },
    rendered,
  );
  r.get(
    '/dicom-web/studies/:study/series/:series/instances/:instance/frames/:frames/rendered',
    {
      config: { access: READ, answers: BYTES },
      schema: {
        params: instanceParams.extend({ frames: z.string().regex(/^[1-9]\d{0,6}$/, 'one frame number from 1') }),
        querystring: renderQuery,
      },
    },
    rendered,
  );
}
