// A file's documents and a department's mail-room (issue 17): list, upload (streamed, size-limited,
// type checked by content, decided before the body is read), download, preview inside the strict CSP,
// delete with a reason; scans assigned to a file. Routes parse, call the gate and answer.
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Action } from '../../access/policy.ts';
import type { ResourceRef } from '../../access/resolve.ts';
import { noContent } from '../../contract/common.ts';
import {
  documentAdded,
  type DocumentItem,
  fileDocuments,
  mailroomDocuments,
  scanAssigned,
} from '../../contract/documents.ts';
import type { GateContext } from '../../access/gate.ts';
import { decideBeforeUpload, type ReceivedUpload, receiveUpload, tooLarge } from '../../desk/attachments.ts';
import { PREVIEWABLE } from '../../desk/content-check.ts';
import type { DocumentContent, DocumentListItem } from '../../desk/documents.ts';
import { KarteiError, fieldRefused } from '../../errors.ts';
import type { Services } from '../../services.ts';
import { gated, principalOf } from '../access.ts';
import { id, idParams, reason, sensitivity, version } from '../schemas.ts';

const BYTES = { raw: "the document's bytes as stored (its media type), or a preview of them" };
/** The header an upload names its file in, percent-encoded UTF-8 (`encodeURIComponent`). */
const FILE_NAME_HEADER = 'x-file-name';
/** What a PDF preview in a frame of our own pages may do: nothing but show itself (see docs/API.md). */
const PDF_PREVIEW_CSP = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'";
/** The largest image converted for a preview (TIFF → PNG), in pixels. */
const MAX_PREVIEW_PIXELS = 100_000_000;

/** Unicode's bidirectional marks, embeddings, overrides and isolates: refused in names and titles. */
const BIDI_CONTROLS = /[\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

const withPreview = (d: DocumentListItem): DocumentItem => ({ ...d, previewable: PREVIEWABLE.has(d.mediaType) });

/** The upload's file name from its header: required, decoded, at most 255 characters. */
function fileNameOf(req: FastifyRequest): string {
  const raw = req.headers[FILE_NAME_HEADER];
  let name = '';
  try {
    name = typeof raw === 'string' ? decodeURIComponent(raw).trim() : '';
  } catch {
    throw fieldRefused('validation-failed', 'fileName', 'invalid-format', 'X-File-Name: percent-encoded UTF-8');
  }
  if (!name) throw fieldRefused('validation-failed', 'fileName', 'required', 'X-File-Name: the name of the file');
  if (name.length > 255)
    throw fieldRefused('validation-failed', 'fileName', 'too-long', 'X-File-Name: at most 255 characters', {
      max: 255,
    });
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\u0000-\u001f\u007f/\\]/.test(name))
    throw fieldRefused('validation-failed', 'fileName', 'invalid-format', 'X-File-Name: a name without a path');
  // A bidirectional override or isolate would show "Befund\u202Egnp.pdf" as "Befundfdp.png" in the list.
  if (BIDI_CONTROLS.test(name))
    throw fieldRefused('validation-failed', 'fileName', 'invalid-format', 'X-File-Name: no bidirectional controls');
  return name;
}

/** RFC 6266: an ASCII fallback and the exact name as `filename*` (RFC 8187). */
function contentDisposition(type: 'attachment' | 'inline', fileName: string): string {
  const fallback = fileName
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .replace(/[^\x20-\x7e]|["\\%]/g, '_');
  const exact = encodeURIComponent(fileName).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `${type}; filename="${fallback}"; filename*=UTF-8''${exact}`;
}

/**
 * Reads an upload's body into a sealed temporary file after the caller was decided allowed on `ref`,
 * then stores it through the gate (`store`); anything refused or failed leaves nothing behind.
 */
async function upload<T>(
  s: Services,
  req: FastifyRequest,
  action: Action,
  ref: ResourceRef,
  title: string | undefined,
  store: (ctx: GateContext, u: ReceivedUpload) => Promise<T>,
): Promise<T> {
  const principal = principalOf(req);
  const { decision, departmentId } = await decideBeforeUpload(s.store, principal, action, ref);
  // Refused before a byte of the body is read; the gate audits the refusal and answers it.
  if (decision !== 'allow' || !departmentId)
    return gated(s, req, action, ref, async () => {
      throw new KarteiError('forbidden');
    });
  const fileName = fileNameOf(req);
  const max = s.config.attachmentMaxBytes;
  const announced = Number(req.headers['content-length']);
  if (Number.isFinite(announced) && announced > max) throw tooLarge(max);
  const received = await receiveUpload(s.documents.files, req.body as AsyncIterable<Buffer>, {
    tenantId: principal.tenantId,
    departmentId,
    fileName,
    title,
    maxBytes: max,
  });
  try {
    return await gated(s, req, action, ref, (ctx) => store(ctx, received));
  } catch (e) {
    await received.discard();
    throw e;
  }
}

/** The bytes as a download, or inline for the preview (a TIFF as PNG; a PDF under its own sandboxing CSP). */
async function send(reply: FastifyReply, c: DocumentContent, how: 'download' | 'preview') {
  if (how === 'download')
    return reply
      .header('content-disposition', contentDisposition('attachment', c.fileName))
      .header('content-length', String(c.size))
      .type(c.mediaType)
      .send(Readable.from(c.body));
  if (!PREVIEWABLE.has(c.mediaType)) {
    await c.body.return(undefined);
    throw new KarteiError('unsupported-media-type', 'this type has no preview; download it');
  }
  if (c.mediaType === 'image/tiff') {
    const parts: Buffer[] = [];
    for await (const b of c.body) parts.push(b);
    // Past the pixel limit (or unreadable to sharp) there is no preview: a clear 415, not a 500.
    // sharp (libvips) is loaded with the first TIFF preview, not with the server.
    const sharp = (await import('sharp')).default;
    const png = await sharp(Buffer.concat(parts), { limitInputPixels: MAX_PREVIEW_PIXELS })
      .png()
      .toBuffer()
      .catch(() => {
        throw new KarteiError(
          'unsupported-media-type',
          'this image has no preview (too large or unreadable); download it',
        );
      });
    return reply
      .header('content-disposition', contentDisposition('inline', `${c.fileName}.png`))
      .type('image/png')
      .send(png);
  }
  if (c.mediaType === 'application/pdf')
    reply.header('content-security-policy', PDF_PREVIEW_CSP).header('x-frame-options', 'SAMEORIGIN');
  return reply
    .header('content-disposition', contentDisposition('inline', c.fileName))
    .header('content-length', String(c.size))
    .type(c.mediaType)
    .send(Readable.from(c.body));
}

export function documentRoutes(app: FastifyInstance, s: Services) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const documentRef = (documentId: string) => ({ kind: 'document' as const, documentId });
  const scanRef = (documentId: string) => ({ kind: 'mailroom-item' as const, documentId });
  const versionQuery = z.strictObject({ version: z.coerce.number().int().min(1).max(1_000_000).optional() });

  r.get(
    '/api/persons/:id/documents',
    {
      config: { access: { actions: ['document.list'], resource: 'person' } },
      schema: { params: idParams, response: { 200: fileDocuments } },
    },
    async (req) =>
      gated(s, req, 'document.list', { kind: 'person', personId: req.params.id }, async (ctx) => ({
        items: (await s.documents.list(ctx)).map(withPreview),
        permissions: {
          add: ctx.may('document.add'),
          addRestricted: ctx.may('document.add', 'restricted'),
          delete: ctx.may('document.delete'),
          deleteRestricted: ctx.may('document.delete', 'restricted'),
        },
        maxBytes: s.config.attachmentMaxBytes,
      })),
  );

  // Uploads take their body as it streams, in their own context: no JSON parser, no buffering.
  app.register(async (raw) => {
    raw.removeAllContentTypeParsers();
    raw.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
    const rr = raw.withTypeProvider<ZodTypeProvider>();
    rr.post(
      '/api/persons/:id/documents',
      {
        config: { access: { actions: ['document.add'], resource: 'person' } },
        schema: {
          params: idParams,
          querystring: z.strictObject({
            sensitivity: sensitivity.default('normal'),
            title: z
              .string()
              .max(200)
              .refine((v) => !BIDI_CONTROLS.test(v), 'no bidirectional controls')
              .optional(),
          }),
          response: { 201: documentAdded },
        },
      },
      async (req, reply) => {
        const ref = { kind: 'person' as const, personId: req.params.id, sensitivity: req.query.sensitivity };
        const added = await upload(s, req, 'document.add', ref, req.query.title, (ctx, u) =>
          s.documents.addUpload(ctx, u, req.query.sensitivity),
        );
        return reply.code(201).send(added);
      },
    );
    rr.post(
      '/api/departments/:id/mailroom',
      {
        config: { access: { actions: ['mailroom.upload'], resource: 'department' } },
        schema: { params: idParams, response: { 201: documentAdded } },
      },
      async (req, reply) => {
        const ref = { kind: 'department' as const, departmentId: req.params.id };
        const added = await upload(s, req, 'mailroom.upload', ref, undefined, (ctx, u) => s.mailroom.upload(ctx, u));
        return reply.code(201).send(added);
      },
    );
  });

  r.get(
    '/api/documents/:id/content',
    {
      config: { access: { actions: ['document.read'], resource: 'document' }, answers: BYTES },
      schema: { params: idParams, querystring: versionQuery },
    },
    async (req, reply) =>
      send(
        reply,
        await gated(s, req, 'document.read', documentRef(req.params.id), (ctx) =>
          s.documents.read(ctx, req.params.id, req.query.version),
        ),
        'download',
      ),
  );

  r.get(
    '/api/documents/:id/preview',
    {
      config: { access: { actions: ['document.read'], resource: 'document' }, answers: BYTES },
      schema: { params: idParams, querystring: versionQuery },
    },
    async (req, reply) =>
      send(
        reply,
        await gated(s, req, 'document.read', documentRef(req.params.id), (ctx) =>
          s.documents.read(ctx, req.params.id, req.query.version),
        ),
        'preview',
      ),
  );

  r.delete(
    '/api/documents/:id',
    {
      config: { access: { actions: ['document.delete'], resource: 'document' } },
      schema: { params: idParams, body: z.strictObject({ reason: reason(5) }), response: { 204: noContent } },
    },
    async (req, reply) => {
      await gated(s, req, 'document.delete', documentRef(req.params.id), (ctx) =>
        s.documents.remove(ctx, req.params.id, req.body.reason),
      );
      return reply.code(204).send();
    },
  );

  r.get(
    '/api/departments/:id/mailroom',
    {
      config: { access: { actions: ['mailroom.list'], resource: 'department' } },
      schema: { params: idParams, response: { 200: mailroomDocuments } },
    },
    async (req) =>
      gated(s, req, 'mailroom.list', { kind: 'department', departmentId: req.params.id }, async (ctx) => ({
        items: (await s.mailroom.list(ctx)).map(withPreview),
        permissions: { delete: ctx.may('mailroom.delete') },
        maxBytes: s.config.attachmentMaxBytes,
      })),
  );

  for (const [path, how] of [
    ['/api/mailroom/:id/content', 'download'],
    ['/api/mailroom/:id/preview', 'preview'],
  ] as const)
    r.get(
      path,
      {
        config: { access: { actions: ['mailroom.read'], resource: 'mailroom-item' }, answers: BYTES },
        schema: { params: idParams },
      },
      async (req, reply) =>
        send(
          reply,
          await gated(s, req, 'mailroom.read', scanRef(req.params.id), (ctx) => s.documents.read(ctx, req.params.id)),
          how,
        ),
    );

  r.post(
    '/api/mailroom/:id/assign',
    {
      config: { access: { actions: ['mailroom.assign'], resource: 'mailroom-item' } },
      schema: {
        params: idParams,
        body: z.strictObject({ personId: id, version, sensitivity: sensitivity.default('normal') }),
        response: { 200: scanAssigned },
      },
    },
    async (req) =>
      gated(s, req, 'mailroom.assign', scanRef(req.params.id), (ctx) =>
        s.mailroom.assign(ctx, req.params.id, req.body),
      ),
  );

  r.delete(
    '/api/mailroom/:id',
    {
      config: { access: { actions: ['mailroom.delete'], resource: 'mailroom-item' } },
      schema: { params: idParams, body: z.strictObject({ reason: reason(5) }), response: { 204: noContent } },
    },
    async (req, reply) => {
      await gated(s, req, 'mailroom.delete', scanRef(req.params.id), (ctx) =>
        s.mailroom.remove(ctx, req.params.id, req.body.reason),
      );
      return reply.code(204).send();
    },
  );
}
