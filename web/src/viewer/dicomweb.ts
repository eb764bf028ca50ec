// What the viewer asks of the archive: series of a study (QIDO-RS), a series'
// metadata and one frame at a time (WADO-RS). Answers are never cached
// (the server says no-store); frames live in this page's memory only.
import { ApiError, type Problem } from '../api/client.ts';
import type { PixelInfo } from './pixels.ts';

type DicomJson = Record<string, { vr: string; Value?: unknown[] }>;

const first = (ds: DicomJson, tag: string): unknown => ds[tag]?.Value?.[0];
const str = (ds: DicomJson, tag: string): string => {
  const v = first(ds, tag);
  return typeof v === 'object' && v !== null && 'Alphabetic' in v ? String((v as { Alphabetic: string }).Alphabetic) : v === undefined ? '' : String(v);
};
const num = (ds: DicomJson, tag: string, fallback: number): number => {
  const v = Number(first(ds, tag));
  return Number.isFinite(v) ? v : fallback;
};

async function get(url: string, accept: string): Promise<Response> {
  const res = await fetch(url, { headers: { accept }, credentials: 'same-origin' });
  if (!res.ok) {
    const p = (await res.json().catch(() => ({}))) as Partial<Problem>;
    throw new ApiError({ code: 'unknown', title: res.statusText, detail: res.statusText, ...p, status: res.status });
  }
  return res;
}

export interface Series {
  uid: string;
  number: number;
  modality: string;
  description: string;
  instances: number;
}

export async function studySeries(study: string): Promise<Series[]> {
  const list = (await (await get(`/dicom-web/studies/${encodeURIComponent(study)}/series`, 'application/dicom+json')).json()) as DicomJson[];
  return list
    .map((ds) => ({
      uid: str(ds, '0020000E'),
      number: num(ds, '00200011', 0),
      modality: str(ds, '00080060'),
      description: str(ds, '0008103E'),
      instances: num(ds, '00201209', 0),
    }))
    .sort((a, b) => a.number - b.number);
}

export interface Image {
  sopUid: string;
  number: number;
  info: PixelInfo;
  window: { center: number; width: number } | null;
  frameUrl: string;
}

export async function seriesImages(study: string, series: string): Promise<Image[]> {
  const base = `/dicom-web/studies/${encodeURIComponent(study)}/series/${encodeURIComponent(series)}`;
  const list = (await (await get(`${base}/metadata`, 'application/dicom+json')).json()) as DicomJson[];
  return list
    .map((ds) => {
      const sopUid = str(ds, '00080018');
      const center = num(ds, '00281050', NaN);
      const width = num(ds, '00281051', NaN);
      return {
        sopUid,
        number: num(ds, '00200013', 0),
        info: {
          rows: num(ds, '00280010', 0),
          columns: num(ds, '00280011', 0),
          bitsAllocated: num(ds, '00280100', 16),
          pixelRepresentation: num(ds, '00280103', 0),
          samplesPerPixel: num(ds, '00280002', 1),
          photometric: str(ds, '00280004') || 'MONOCHROME2',
          slope: num(ds, '00281053', 1),
          intercept: num(ds, '00281052', 0),
        },
        window: Number.isFinite(center) && Number.isFinite(width) && width > 0 ? { center, width } : null,
        frameUrl: `${base}/instances/${encodeURIComponent(sopUid)}/frames/1`,
      };
    })
    .sort((a, b) => a.number - b.number);
}

export type Frame = { kind: 'raw'; data: ArrayBuffer } | { kind: 'bitmap'; bitmap: ImageBitmap };

const FRAME_ACCEPT = 'multipart/related; type="application/octet-stream", multipart/related; type="image/jpeg"';

/** The first frame of an instance: stored values, or a decoded image when the archive holds it compressed. */
export async function fetchFrame(url: string): Promise<Frame> {
  const res = await get(url, FRAME_ACCEPT);
  const boundary = /boundary="?([^";]+)"?/i.exec(res.headers.get('content-type') ?? '')?.[1];
  const body = new Uint8Array(await res.arrayBuffer());
  if (!boundary) throw new Error('frame answer without a multipart boundary');
  const part = firstPart(body, boundary);
  if (/image\/jpeg/i.test(part.contentType)) return { kind: 'bitmap', bitmap: await createImageBitmap(new Blob([part.body as BlobPart], { type: 'image/jpeg' })) };
  return { kind: 'raw', data: part.body.buffer.slice(part.body.byteOffset, part.body.byteOffset + part.body.byteLength) as ArrayBuffer };
}

function indexOf(hay: Uint8Array, needle: Uint8Array, from: number): number {
  outer: for (let i = from; i <= hay.length - needle.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** The first part of a multipart/related body: its content type and bytes. */
export function firstPart(body: Uint8Array, boundary: string): { contentType: string; body: Uint8Array } {
  const enc = new TextEncoder();
  const start = indexOf(body, enc.encode(`--${boundary}`), 0);
  const headersEnd = indexOf(body, enc.encode('\r\n\r\n'), start);
  if (start < 0 || headersEnd < 0) throw new Error('malformed multipart frame answer');
  const headers = new TextDecoder().decode(body.subarray(start, headersEnd));
  const end = indexOf(body, enc.encode(`\r\n--${boundary}`), headersEnd + 4);
  return { contentType: /content-type:\s*([^\r\n]+)/i.exec(headers)?.[1] ?? '', body: body.subarray(headersEnd + 4, end < 0 ? body.length : end) };
}
