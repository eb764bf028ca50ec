// QIDO-RS (PS3.18 10.6): searches for studies, series and instances. A
// search over all studies runs in the caller's own departments only; a
// search inside one study is decided like reading that study (its file's
// shares and grants count). The search itself, with its audit (match count,
// an event per person's file the page showed), is the archive's one search
// use case (imaging/search-archive.ts), which C-FIND calls too.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services.ts';
import type { GateContext } from '../../access/gate.ts';
import type { Level } from '../../imaging/match-attributes.ts';
import { searchArchive } from '../../imaging/search-archive.ts';
import { valuesToJson } from '../../imaging/dicomweb-codec/dicom-json.ts';
import { parseQidoQuery, type QidoSearch } from '../../imaging/dicomweb-codec/qido-query.ts';
import { negotiate } from '../../imaging/dicomweb-codec/media-types.ts';
import { gated } from '../access.ts';
import { studyParams, seriesParams } from './dicomweb-params.ts';

const query = z.record(z.string(), z.union([z.string(), z.array(z.string())]));
const SEARCH = { actions: ['study.search'], resource: 'tenant' } as const;
const WITHIN = { actions: ['study.read'], resource: 'study' } as const;
/** QIDO-RS answers the DICOM JSON model (PS3.18 F.2), built by src/imaging/dicomweb-codec/dicom-json.ts, not a Kartei contract. */
const DICOM_JSON = { raw: 'application/dicom+json: the DICOM JSON model of the matches (PS3.18 F.2)' };

async function answer(
  s: Services,
  ctx: GateContext,
  departments: string[],
  level: Level,
  { query, limit, offset }: QidoSearch,
) {
  return (await searchArchive(ctx, s.keyring, { departments, level, query, offset, limit })).map(valuesToJson);
}

function send(reply: FastifyReply, body: unknown[]) {
  return reply.type('application/dicom+json').send(JSON.stringify(body));
}

const accept = (headers: { accept?: string }) =>
  negotiate(headers.accept, ['application/dicom+json', 'application/json'] as const);

export function qidoRoutes(app: FastifyInstance, s: Services) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const levels: [string, Level][] = [
    ['studies', 'STUDY'],
    ['series', 'SERIES'],
    ['instances', 'IMAGE'],
  ];

  for (const [path, level] of levels) {
    r.get(
      `/dicom-web/${path}`,
      { config: { access: SEARCH, answers: DICOM_JSON }, schema: { querystring: query } },
      async (req, reply) => {
        accept(req.headers);
        const wanted = parseQidoQuery(req.query);
        const body = await gated(s, req, 'study.search', { kind: 'tenant' }, (ctx) =>
          answer(s, ctx, [...new Set(ctx.principal.memberships.map((m) => m.departmentId))], level, wanted),
        );
        return send(reply, body);
      },
    );
  }

  type WithinRequest = FastifyRequest<{
    Params: { study: string; series?: string };
    Querystring: z.infer<typeof query>;
  }>;
  const within = (level: Level) => async (req: WithinRequest, reply: FastifyReply) => {
    accept(req.headers);
    const wanted = parseQidoQuery(req.query);
    wanted.query.studyUids = [req.params.study];
    if (req.params.series) wanted.query.seriesUids = [req.params.series];
    const body = await gated(s, req, 'study.read', { kind: 'study', studyUid: req.params.study }, (ctx) =>
      answer(s, ctx, [ctx.target.departmentId!], level, wanted),
    );
    return send(reply, body);
  };
  r.get(
    '/dicom-web/studies/:study/series',
    { config: { access: WITHIN, answers: DICOM_JSON }, schema: { params: studyParams, querystring: query } },
    within('SERIES'),
  );
  r.get(
    '/dicom-web/studies/:study/instances',
    { config: { access: WITHIN, answers: DICOM_JSON }, schema: { params: studyParams, querystring: query } },
    within('IMAGE'),
  );
  r.get(
    '/dicom-web/studies/:study/series/:series/instances',
    { config: { access: WITHIN, answers: DICOM_JSON }, schema: { params: seriesParams, querystring: query } },
    within('IMAGE'),
  );
}
