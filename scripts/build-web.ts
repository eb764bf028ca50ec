// Builds the web application into web/dist when its sources changed since the
// last build (`npm start` runs this first, so a newcomer needs no extra step).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WEB_DIST } from '../src/http/web-app.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const web = path.join(root, 'web');
const STAMP = path.join(WEB_DIST, '.source-hash');

/**
 * Everything the bundle can be made of: the web sources, the server's sources (the web
 * application imports some of them: the estimator, the answer types, the frame decoders),
 * the locked dependencies.
 */
function sourceHash(): string {
  const h = crypto.createHash('sha256');
  const files = [path.join(web, 'index.html'), path.join(web, 'vite.config.ts'), path.join(root, 'package-lock.json')];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else files.push(p);
    }
  };
  walk(path.join(web, 'src'));
  walk(path.join(root, 'src'));
  for (const f of files.sort()) h.update(path.relative(root, f)).update('\0').update(fs.readFileSync(f)).update('\0');
  return h.digest('hex');
}

/** Builds unless web/dist already holds a build of these sources; says whether it built. */
export async function ensureWebBuild(): Promise<boolean> {
  const hash = sourceHash();
  if (fs.existsSync(STAMP) && fs.readFileSync(STAMP, 'utf8') === hash) return false;
  const { build } = await import('vite');
  await build({ configFile: path.join(web, 'vite.config.ts'), logLevel: 'warn' });
  fs.writeFileSync(STAMP, hash);
  return true;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const started = Date.now();
  if (await ensureWebBuild()) console.log(`Web application built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
