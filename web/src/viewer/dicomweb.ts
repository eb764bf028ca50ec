// What the viewer asks of the archive: a study's series and instances (QIDO-RS),
// metadata and one frame at a time (WADO-RS), through the session's request (an
// ended session asks to sign in again, as everywhere). Answers are never cached
// (the server says no-store); frames live in this page's memory only.
import { request } from '../api/client.ts';
import type { PixelInfo } from './pixels.ts';
import { firstPart } from './multipart.ts';

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

export interface Instance {
  sopUid: string;
  number: number;
  frameUrl: string;
  metadataUrl: string;
}

export interface Series {
  uid: string;
  number: number;
  modality: string;
  description: string;
  instances: Instance[];
}

/** What drawing an instance needs besides its pixels. */
export interface ImageMeta {
  info: PixelInfo;
  window: { center: number; width: number } | null;
}

function instanceAt(study: string, series: string, sop: string, number: number): Instance {
  const uri = `/dicom-web/studies/${encodeURIComponent(study)}/series/${encodeURIComponent(series)}/instances/${encodeURIComponent(sop)}`;
  return { sopUid: sop, number, frameUrl: `${uri}/frames/1`, metadataUrl: `${uri}/metadata` };
}

/** Answers asked for before the viewer needs them, each taken once (then asked anew). */
const ahead = new Map<string, Promise<unknown>>();

function once<T>(url: string, load: () => Promise<T>): Promise<T> {
  const early = ahead.get(url) as Promise<T> | undefined;
  ahead.delete(url);
  return early ?? load();
}

/** The study whose first image is loading ahead, that image, and when it has arrived (or failed). */
let early: { study: string; seriesUid: string; instance: Instance; settled: Promise<unknown> } | undefined;

/**
 * Starts loading a study's first image (its frame and metadata) on the click that
 * opens the study, so that the viewer can show it before it knows the rest of the study.
 */
export function prefetchFirstImage(study: string, ref: { seriesUid: string; sopInstanceUid: string }): void {
  ahead.clear();
  const instance = instanceAt(study, ref.seriesUid, ref.sopInstanceUid, 0);
  const loads: Promise<unknown>[] = [loadFrame(instance.frameUrl), loadInstanceMeta(instance)];
  ahead.set(instance.frameUrl, loads[0]!);
  ahead.set(instance.metadataUrl, loads[1]!);
  // Failures are for whoever takes the answer; nobody may, so none goes unhandled.
  for (const p of loads) p.catch(() => undefined);
  early = { study, seriesUid: ref.seriesUid, instance, settled: Promise.allSettled(loads) };
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
    if (!s) series.set(uid, (s = { uid, number: num(ds, '00200011', 0), modality: str(ds, '00080060'), description: str(ds, '0008103E'), instances: [] }));
    s.instances.push(instanceAt(study, uid, str(ds, '00080018'), num(ds, '00200013', 0)));
  }
  for (const s of series.values()) s.instances.sort((x, y) => x.number - y.number);
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
export const instanceMeta = (instance: Instance): Promise<ImageMeta> => once(instance.metadataUrl, () => loadInstanceMeta(instance));

async function loadInstanceMeta(instance: Instance): Promise<ImageMeta> {
  const [ds] = (await (await get(instance.metadataUrl, 'application/dicom+json')).json()) as DicomJson[];
  return metaOf(ds ?? {});
}

/** Every instance's metadata of a series, by SOP Instance UID. */
export async function seriesMeta(study: string, series: string): Promise<Map<string, ImageMeta>> {
  const url = `/dicom-web/studies/${encodeURIComponent(study)}/series/${encodeURIComponent(series)}/metadata`;
  const list = (await (await get(url, 'application/dicom+json')).json()) as DicomJson[];
  return new Map(list.map((ds) => [str(ds, '00080018'), metaOf(ds)]));
}

export type Frame = { kind: 'raw'; data: ArrayBuffer } | { kind: 'bitmap'; bitmap: ImageBitmap };

const FRAME_ACCEPT = 'multipart/related; type="application/octet-stream", multipart/related; type="image/jpeg"';

/** The first frame of an instance: stored values, or a decoded image when the archive holds it compressed. */
export const fetchFrame = (url: string): Promise<Frame> => once(url, () => loadFrame(url));

async function loadFrame(url: string): Promise<Frame> {
  const res = await get(url, FRAME_ACCEPT);
  const boundary = /boundary="?([^";]+)"?/i.exec(res.headers.get('content-type') ?? '')?.[1];
  const body = new Uint8Array(await res.arrayBuffer());
  if (!boundary) throw new Error('frame answer without a multipart boundary');
  const part = firstPart(body, boundary);
  if (/image\/jpeg/i.test(part.contentType)) return { kind: 'bitmap', bitmap: await createImageBitmap(new Blob([part.body as BlobPart], { type: 'image/jpeg' })) };
  return { kind: 'raw', data: part.body.buffer.slice(part.body.byteOffset, part.body.byteOffset + part.body.byteLength) as ArrayBuffer };
}
