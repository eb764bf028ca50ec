// The web application: the built files of web/dist, held in memory and sent
// compressed, and index.html for every other page path (the application routes
// in the browser). API and DICOMweb paths never fall through to the page.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { KarteiError } from '../errors.ts';

export const WEB_DIST = path.resolve(import.meta.dirname, '../../web/dist');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
};
const COMPRESSIBLE = new Set(['.html', '.js', '.css', '.svg', '.json']);

interface WebFile {
  body: Buffer;
  type: string;
  compressible: boolean;
  gzip?: Buffer;
}

/** The files of a build, by URL path; empty when the application is not built. */
function loadBuild(dir: string): Map<string, WebFile> {
  const files = new Map<string, WebFile>();
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (!e.name.startsWith('.')) {
        const ext = path.extname(e.name);
        files.set(`/${path.relative(dir, p).split(path.sep).join('/')}`, {
          body: fs.readFileSync(p),
          type: TYPES[ext] ?? 'application/octet-stream',
          compressible: COMPRESSIBLE.has(ext),
        });
      }
    }
  };
  if (fs.existsSync(path.join(dir, 'index.html'))) walk(dir);
  return files;
}

function send(req: FastifyRequest, reply: FastifyReply, f: WebFile) {
  reply.type(f.type);
  if (f.compressible) {
    reply.header('vary', 'accept-encoding');
    if (/\bgzip\b/.test(req.headers['accept-encoding'] ?? '')) {
      f.gzip ??= zlib.gzipSync(f.body, { level: 9 });
      return reply.header('content-encoding', 'gzip').send(f.gzip);
    }
  }
  return reply.send(f.body);
}

const NOT_PAGES = /^\/(api|dicom-web)(\/|$)/;

export function webAppRoutes(app: FastifyInstance, dir = WEB_DIST) {
  const files = loadBuild(dir);
  const notBuilt = () =>
    new KarteiError(
      'not-found',
      'The web application is not built: `npm start` builds it (or run `npm run build:web`)',
    );

  app.get(
    '/assets/*',
    {
      config: {
        access: { public: "the web application's code and styles, no data" },
        answers: { raw: "the web application's files" },
      },
      schema: { hide: true },
    },
    async (req, reply) => {
      const f = files.get(req.url.split('?')[0]!);
      if (!f) throw new KarteiError('not-found');
      // Names carry a content hash: a changed file has a new name.
      reply.header('cache-control', 'public, max-age=31536000, immutable');
      return send(req, reply, f);
    },
  );

  const page = async (req: FastifyRequest, reply: FastifyReply) => {
    if (NOT_PAGES.test(req.url)) throw new KarteiError('not-found');
    const index = files.get('/index.html');
    if (!index) throw notBuilt();
    return send(req, reply, index);
  };
  const pages = [
    ['/', "the web application's page, no data"],
    ['/*', "the web application's page for its own paths, no data"],
  ] as const;
  for (const [url, why] of pages)
    app.get(
      url,
      {
        config: { access: { public: why }, answers: { raw: 'text/html: the web application' } },
        schema: { hide: true },
      },
      page,
    );
}
