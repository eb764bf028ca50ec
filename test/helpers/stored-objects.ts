// What a harness's store of sealed objects holds, whichever the medium (issue 19): the files under
// the data directory's area, or the rows of PostgreSQL's `sealed_objects` and `sealed_chunks` (read
// as the schema owner, past the walls): each object's path (relative to the area), whether it is a
// write's temporary entry, and its stored bytes (header and chunks, as a file would hold them).
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import type { Harness } from './harness.ts';

export interface StoredObject {
  path: string;
  temporary: boolean;
  bytes: Buffer;
}

export async function storedObjects(h: Harness, area: 'images' | 'documents'): Promise<StoredObject[]> {
  if (h.services.images.kind === 'files') {
    const root = path.join(h.config.dataDir, area);
    const walk = (dir: string): string[] =>
      fs.existsSync(dir)
        ? fs
            .readdirSync(dir, { withFileTypes: true })
            .flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]))
        : [];
    return walk(root)
      .sort()
      .map((f) => ({ path: path.relative(root, f), temporary: f.includes('.tmp-'), bytes: fs.readFileSync(f) }));
  }
  const client = new pg.Client({ connectionString: h.installation.database.databaseAdminUrl });
  await client.connect();
  try {
    const objects = await client.query<{ id: string; path: string; committed: boolean; header: Buffer }>(
      'select id, path, committed, header from sealed_objects where area = $1 order by path, id',
      [area],
    );
    const out: StoredObject[] = [];
    for (const o of objects.rows) {
      const chunks = await client.query<{ bytes: Buffer }>(
        'select bytes from sealed_chunks where object_id = $1 order by n',
        [o.id],
      );
      out.push({
        path: o.committed ? o.path : `${o.path}.tmp-${o.id}`,
        temporary: !o.committed,
        bytes: Buffer.concat([o.header, ...chunks.rows.map((c) => c.bytes)]),
      });
    }
    return out;
  } finally {
    await client.end();
  }
}
