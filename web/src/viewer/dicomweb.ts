// What the viewer asks of the archive: a study's series and instances (QIDO-RS),
// metadata and one frame at a time (WADO-RS), through the session's request (an
// ended session asks to sign in again, as everywhere). Answers are never cached
// (the server says no-store); frames live in this page's memory only.
import { request } from '../api/client.ts';
import { parts } from './multipart.ts';
import type { PixelInfo } from './pixels.ts';
import { FRAME_DECODERS } from '../../../src/imaging/dicom/frame-decoders.ts';

type DicomJson = Record<string, { vr: string; Value?: unknown[] }>;

const first = (ds: DicomJson, tag: string): unknown => ds[tag]?.Value?.[0];
const str = (ds: DicomJson, tag: string): string => {
  const v = first(ds, tag);
  return typeof v === 'object' && v !== null && 'Alphabetic' in v
    ? String((v as { Alphabetic: string }).Alphabetic)
    : v === undefined
      ? ''
      : String(v);
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
  instanceUrl: string;
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

/** The most frames an instance is believed to have (the archive's own bound); NumberOfFrames comes from the sender. */
const MAX_FRAMES = 100_000;

/** An instance's images, one per frame. */
function imagesOf(study: string, series: string, sop: string, number: number, frames: number): SeriesImage[] {
  const uri = `/dicom-web/studies/${encodeURIComponent(study)}/series/${encodeURIComponent(series)}/instances/${encodeURIComponent(sop)}`;
  const n = Number.isInteger(frames) && frames >= 1 && frames <= MAX_FRAMES ? frames : 1;
  return Array.from({ length: n }, (_, i) => ({
    key: `${sop}#${i + 1}`,
    sopUid: sop,
    number,
    frame: i + 1,
    instanceUrl: uri,
    frameUrl: `${uri}/frames/${i + 1}`,
    metadataUrl: `${uri}/metadata`,
  }));
}

/**
 * Answers asked for before the viewer needs them, each taken once (then asked
 * anew), and only for a few seconds: one left unused (the user went back) is
 * dropped rather than shown later without asking the server again.
 */
const ahead = new Map<string, Promise<unknown>>();
const AHEAD_MS = 10_000;
let aheadAt = 0;

function once<T>(url: string, load: () => Promise<T>): Promise<T> {
  if (Date.now() - aheadAt > AHEAD_MS) ahead.clear();
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
  aheadAt = Date.now();
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
  const e = early?.study === study && Date.now() - aheadAt <= AHEAD_MS ? early : undefined;
  early = undefined;
  return e;
}

const PAGE = 1_000; // the archive's most matches per QIDO answer

const byUid = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * A study's series with their instances in order, from one search at instance level
 * (each match carries its series' attributes): the index answers it, no file is opened.
 */
export async function studyIndex(study: string): Promise<Series[]> {
  const base = `/dicom-web/studies/${encodeURIComponent(study)}`;
  const matches: DicomJson[] = [];
  for (let offset = 0; ; offset += PAGE) {
    const page = (await (
      await get(`${base}/instances?limit=${PAGE}&offset=${offset}`, 'application/dicom+json')
    ).json()) as DicomJson[];
    matches.push(...page);
    if (page.length < PAGE) break;
  }
  const series = new Map<string, Series>();
  for (const ds of matches) {
    const uid = str(ds, '0020000E');
    let s = series.get(uid);
    if (!s) {
      s = {
        uid,
        number: num(ds, '00200011', 0),
        modality: str(ds, '00080060'),
        description: str(ds, '0008103E'),
        images: [],
      };
      series.set(uid, s);
    }
    s.images.push(...imagesOf(study, uid, str(ds, '00080018'), num(ds, '00200013', 0), num(ds, '00280008', 1)));
  }
  // Ties (or no numbers) ordered by UID, as the server picks a study's first image.
  for (const s of series.values())
    s.images.sort((x, y) => x.number - y.number || byUid(x.sopUid, y.sopUid) || x.frame - y.frame);
  return [...series.values()].sort((x, y) => x.number - y.number || byUid(x.uid, y.uid));
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
export const instanceMeta = (image: SeriesImage): Promise<ImageMeta> =>
  once(image.metadataUrl, () => loadInstanceMeta(image));

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
 * A frame's values as stored; when the archive holds it in a compression the
 * server's decoders know (RLE, JPEG Lossless), the compressed bytes, decoded
 * once the instance's pixel module is known; or, for other JPEG, the image the
 * browser decoded (RGBA), which the viewer turns into samples by the instance's
 * samples per pixel: a grey JPEG is then windowed like any frame.
 */
export type Frame = { data: ArrayBuffer } | { compressed: Uint8Array; syntax: string } | { rgba: Uint8ClampedArray };

const FRAME_ACCEPT = ['application/octet-stream', 'image/x-dicom-rle', 'image/jpeg']
  .map((t) => `multipart/related; type="${t}"`)
  .join(', ');

/** One frame of an instance, by its WADO-RS URL. */
const fetchFrame = (url: string): Promise<Frame> => once(url, () => loadFrame(url));

/** Several frames of one instance in one request (one decision, one audit event), in their order. */
export async function fetchFrames(images: SeriesImage[]): Promise<Frame[]> {
  if (images.length === 1) return [await fetchFrame(images[0]!.frameUrl)];
  const frames = await loadFrames(`${images[0]!.instanceUrl}/frames/${images.map((i) => i.frame).join(',')}`);
  if (frames.length !== images.length) throw new Error(`asked for ${images.length} frames, got ${frames.length}`);
  return frames;
}

const loadFrame = async (url: string): Promise<Frame> => (await loadFrames(url))[0]!;

async function loadFrames(url: string): Promise<Frame[]> {
  const res = await get(url, FRAME_ACCEPT);
  const boundary = /boundary="?([^";]+)"?/i.exec(res.headers.get('content-type') ?? '')?.[1];
  const body = new Uint8Array(await res.arrayBuffer());
  if (!boundary) throw new Error('frame answer without a multipart boundary');
  return Promise.all(
    parts(body, boundary).map(async (part) => {
      const syntax = /transfer-syntax=([\d.]+)/i.exec(part.contentType)?.[1] ?? '';
      if (FRAME_DECODERS[syntax]) return { compressed: part.body, syntax };
      if (/image\/jpeg/i.test(part.contentType)) return { rgba: await decodeJpeg(part.body) };
      return {
        data: part.body.buffer.slice(part.body.byteOffset, part.body.byteOffset + part.body.byteLength) as ArrayBuffer,
      };
    }),
  );
}

async function decodeJpeg(jpeg: Uint8Array): Promise<Uint8ClampedArray> {
  // The stored values, not a colour-managed rendering of them.
  const bitmap = await createImageBitmap(new Blob([jpeg as BlobPart], { type: 'image/jpeg' }), {
    colorSpaceConversion: 'none',
  });
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext('2d')!;
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  return ctx.getImageData(0, 0, canvas.width, canvas.height).data;
}
