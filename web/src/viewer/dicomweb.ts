// What the viewer asks of the archive: a study's series and instances (QIDO-RS),
// metadata and one frame at a time (WADO-RS), through the session's request (an
// ended session asks to sign in again, as everywhere). Answers are never cached
// (the server says no-store); frames live in this page's memory only.
import { request } from '../api/client.ts';
import { firstPart } from './multipart.ts';
import { samplesOf, type PixelInfo } from './pixels.ts';

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

const get = (url: string, accept: string) => request('GET', url, { accept });

/** One image of a series: a frame of an instance (each frame of a multi-frame instance is its own image). */
export interface SeriesImage {
  /** Unique in the series: the SOP Instance UID and the frame number. */
  key: string;
  sopUid: string;
  number: number;
  frame: number;
  frameUrl: string;
  metadataUrl: string;
}

export interface Series {
  uid: string;
  number: number;
  modality: string;
  description: string;
  images: SeriesImage[];
}

/** What drawing an instance needs besides its pixels. */
export interface ImageMeta {
  info: PixelInfo;
  window: { center: number; width: number } | null;
}

/** An instance's images, one per frame. */
function imagesOf(study: string, series: string, sop: string, number: number, frames: number): SeriesImage[] {
  const uri = `/dicom-web/studies/${encodeURIComponent(study)}/series/${encodeURIComponent(series)}/instances/${encodeURIComponent(sop)}`;
  return Array.from({ length: Math.max(1, frames) }, (_, i) => ({ key: `${sop}#${i + 1}`, sopUid: sop, number, frame: i + 1, frameUrl: `${uri}/frames/${i + 1}`, metadataUrl: `${uri}/metadata` }));
}

/** Answers asked for before the viewer needs them, each taken once (then asked anew). */
const ahead = new Map<string, Promise<unknown>>();

function once<T>(url: string, load: () => Promise<T>): Promise<T> {
  const early = ahead.get(url) as Promise<T> | undefined;
  ahead.delete(url);
  return early ?? load();
}

/** The study whose first image is loading ahead, that image, and when it has arrived (or failed). */
let early: { study: string; seriesUid: string; image: SeriesImage; settled: Promise<unknown> } | undefined;

/**
 * Starts loading a study's first image (its frame and metadata) on the click that
 * opens the study, so that the viewer can show it before it knows the rest of the study.
 */
export function prefetchFirstImage(study: string, ref: { seriesUid: string; sopInstanceUid: string }): void {
  ahead.clear();
  const image = imagesOf(study, ref.seriesUid, ref.sopInstanceUid, 0, 1)[0]!;
  const loads: Promise<unknown>[] = [loadFrame(image.frameUrl), loadInstanceMeta(image)];
  ahead.set(image.frameUrl, loads[0]!);
  ahead.set(image.metadataUrl, loads[1]!);
  // Failures are for whoever takes the answer; nobody may, so none goes unhandled.
  for (const p of loads) p.catch(() => undefined);
  early = { study, seriesUid: ref.seriesUid, image, settled: Promise.allSettled(loads) };
}

/** The first image loading ahead for this study, taken once. */
export function firstImageAhead(study: string): typeof early {
  const e = early?.study === study ? early : undefined;
  early = undefined;
  return e;
}

const PAGE = 1_000; // the archive's most matches per QIDO answer

/**
 * A study's series with their instances in order, from one search at instance level
 * (each match carries its series' attributes): the index answers it, no file is opened.
 */
export async function studyIndex(study: string): Promise<Series[]> {
  const base = `/dicom-web/studies/${encodeURIComponent(study)}`;
  const matches: DicomJson[] = [];
  for (let offset = 0; ; offset += PAGE) {
    const page = (await (await get(`${base}/instances?limit=${PAGE}&offset=${offset}`, 'application/dicom+json')).json()) as DicomJson[];
    matches.push(...page);
    if (page.length < PAGE) break;
  }
  const series = new Map<string, Series>();
  for (const ds of matches) {
    const uid = str(ds, '0020000E');
    let s = series.get(uid);
    if (!s) series.set(uid, (s = { uid, number: num(ds, '00200011', 0), modality: str(ds, '00080060'), description: str(ds, '0008103E'), images: [] }));
    s.images.push(...imagesOf(study, uid, str(ds, '00080018'), num(ds, '00200013', 0), num(ds, '00280008', 1)));
  }
  for (const s of series.values()) s.images.sort((x, y) => x.number - y.number || x.frame - y.frame);
  return [...series.values()].sort((x, y) => x.number - y.number);
}

function metaOf(ds: DicomJson): ImageMeta {
  const center = num(ds, '00281050', NaN);
  const width = num(ds, '00281051', NaN);
  return {
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
  };
}

/** One instance's metadata: enough to draw the first image while the series' metadata loads. */
export const instanceMeta = (image: SeriesImage): Promise<ImageMeta> => once(image.metadataUrl, () => loadInstanceMeta(image));

async function loadInstanceMeta(image: SeriesImage): Promise<ImageMeta> {
  const [ds] = (await (await get(image.metadataUrl, 'application/dicom+json')).json()) as DicomJson[];
  return metaOf(ds ?? {});
}

/** Every instance's metadata of a series, by SOP Instance UID. */
export async function seriesMeta(study: string, series: string): Promise<Map<string, ImageMeta>> {
  const url = `/dicom-web/studies/${encodeURIComponent(study)}/series/${encodeURIComponent(series)}/metadata`;
  const list = (await (await get(url, 'application/dicom+json')).json()) as DicomJson[];
  return new Map(list.map((ds) => [str(ds, '00080018'), metaOf(ds)]));
}

/**
 * A frame's values: as stored, or, when the archive holds it as JPEG, as the
 * browser decoded it (8 bits, one sample when grey, else three) — so that a
 * grey JPEG is windowed like any other frame.
 */
export type Frame = { data: ArrayBuffer; decoded?: { samples: 1 | 3 } };

const FRAME_ACCEPT = 'multipart/related; type="application/octet-stream", multipart/related; type="image/jpeg"';

/** One frame of an instance, by its WADO-RS URL. */
export const fetchFrame = (url: string): Promise<Frame> => once(url, () => loadFrame(url));

async function loadFrame(url: string): Promise<Frame> {
  const res = await get(url, FRAME_ACCEPT);
  const boundary = /boundary="?([^";]+)"?/i.exec(res.headers.get('content-type') ?? '')?.[1];
  const body = new Uint8Array(await res.arrayBuffer());
  if (!boundary) throw new Error('frame answer without a multipart boundary');
  const part = firstPart(body, boundary);
  if (/image\/jpeg/i.test(part.contentType)) return decodeJpeg(part.body);
  return { data: part.body.buffer.slice(part.body.byteOffset, part.body.byteOffset + part.body.byteLength) as ArrayBuffer };
}

async function decodeJpeg(jpeg: Uint8Array): Promise<Frame> {
  const bitmap = await createImageBitmap(new Blob([jpeg as BlobPart], { type: 'image/jpeg' }));
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext('2d')!;
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  const { data, samples } = samplesOf(ctx.getImageData(0, 0, canvas.width, canvas.height).data);
  return { data: data.buffer as ArrayBuffer, decoded: { samples } };
}
