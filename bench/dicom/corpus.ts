// Reproducible DICOM corpus for `npm run bench:dicom`.
//
// generateCorpus(): the "full" corpus — CT Image Storage (default 5 patients × 1 study ×
//   2 series × 50 images of 512×512×16 bit) plus CR Image Storage (default 12 images of
//   2048×2048×16 bit), ~363 MB. CT patients are encoded in ISO_IR 192 (UTF-8), CR patients
//   in ISO_IR 100 (Latin-1); both carry German umlauts in their names.
// generateThinCorpus(): N tiny instances (1×1 pixel) spread over many patients, to fill an
//   index to a given size for query latency.
//
// Part 10, Explicit VR Little Endian. Everything (UIDs, names, pixels) is derived from the
// parameters, so a corpus is generated once into <cache>/<hash of parameters>/ and reused;
// the list of instances is recomputed in memory, not read back from disk.
//
// Instances are made by `makeInstance` from test/helpers/dicom-files.ts (the project's own
// test-instance generator) when that file exists — then a hash of its sources is part of the
// cache key — and otherwise by the minimal writer below (generator: 'builtin').
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Bump when the bytes written change, so cached corpora are regenerated. */
const GENERATOR_VERSION = 1;

export const CT_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.2';
export const CR_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.1';
export const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
const IMPLEMENTATION_CLASS_UID = '2.25.180927349816293750312474862386140385091';
const IMPLEMENTATION_VERSION = 'KARTEI_BENCH_1';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const HELPER = path.join(REPO, 'test/helpers/dicom-files.ts');
/** Sources whose changes alter the helper's output. */
const HELPER_SOURCES = [HELPER, 'src/imaging/dicom/dataset-writer.ts', 'src/imaging/dicom/part10.ts', 'src/imaging/dicom/tags.ts', 'src/imaging/dicom/uids.ts'].map((f) => path.resolve(REPO, f));

/** The subset of test/helpers/dicom-files.ts that the corpus uses (typed here so tsc does not depend on the file). */
interface HelperInstanceOptions {
  syntax: 'explicit';
  sopClassUid: string;
  patientName: string;
  characterSet: 'ISO_IR 100' | 'ISO_IR 192';
  patientId: string;
  birthDate: string;
  sex: 'M' | 'F';
  studyInstanceUid: string;
  seriesInstanceUid: string;
  sopInstanceUid: string;
  modality: string;
  instanceNumber: number;
  rows: number;
  columns: number;
  bitsAllocated: 16;
  pixels: 'random';
  seed: number;
}
type MakeInstance = (o: HelperInstanceOptions) => { file: Buffer };

export type Generator = 'helper' | 'builtin';

async function loadGenerator(want: Generator | 'auto'): Promise<{ kind: Generator; make?: MakeInstance; sourceHash?: string }> {
  if (want === 'builtin' || (want === 'auto' && !fs.existsSync(HELPER))) return { kind: 'builtin' };
  const mod = (await import(pathToFileURL(HELPER).href)) as { makeInstance?: MakeInstance };
  if (typeof mod.makeInstance !== 'function') {
    if (want === 'helper') throw new Error(`${HELPER} has no makeInstance`);
    return { kind: 'builtin' };
  }
  const h = crypto.createHash('sha256');
  for (const f of HELPER_SOURCES) if (fs.existsSync(f)) h.update(fs.readFileSync(f));
  return { kind: 'helper', make: mod.makeInstance, sourceHash: h.digest('hex').slice(0, 16) };
}

const seedOf = (parts: (string | number)[]) => crypto.createHash('sha256').update(parts.join('/')).digest().readUInt32LE(0) || 1;

export const defaultCacheRoot = () => process.env.BENCH_DICOM_CACHE ?? path.join(os.tmpdir(), 'kartei-bench-dicom');

// ---------------------------------------------------------------------------------------
// Minimal Explicit VR Little Endian writer
// ---------------------------------------------------------------------------------------

type Charset = 'ISO_IR 100' | 'ISO_IR 192';

/** An element to write: tag as 0xGGGGEEEE, VR, and a value (string, numbers for US/UL, or bytes). */
export interface Element {
  tag: number;
  vr: string;
  value: string | number | number[] | Uint8Array;
}

const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'UC', 'UN', 'UR', 'UT']);
const TEXT_VRS_WITH_CHARSET = new Set(['LO', 'LT', 'PN', 'SH', 'ST', 'UC', 'UT']);

function valueBytes(el: Element, charset: Charset): Buffer {
  const v = el.value;
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  if (el.vr === 'US' || el.vr === 'UL') {
    const xs = Array.isArray(v) ? v : [Number(v)];
    const size = el.vr === 'US' ? 2 : 4;
    const b = Buffer.alloc(xs.length * size);
    xs.forEach((x, i) => (size === 2 ? b.writeUInt16LE(x, i * 2) : b.writeUInt32LE(x, i * 4)));
    return b;
  }
  const s = Array.isArray(v) ? v.join('\\') : String(v);
  const enc = TEXT_VRS_WITH_CHARSET.has(el.vr) && charset === 'ISO_IR 100' ? 'latin1' : 'utf8';
  return Buffer.from(s, enc);
}

function encodeElement(el: Element, charset: Charset): Buffer {
  let val = valueBytes(el, charset);
  if (val.length % 2) val = Buffer.concat([val, Buffer.from([el.vr === 'UI' || el.vr === 'OB' ? 0 : 0x20])]);
  const long = LONG_VRS.has(el.vr);
  const head = Buffer.alloc(long ? 12 : 8);
  head.writeUInt16LE(el.tag >>> 16, 0);
  head.writeUInt16LE(el.tag & 0xffff, 2);
  head.write(el.vr, 4, 'latin1');
  if (long) head.writeUInt32LE(val.length, 8);
  else {
    if (val.length > 0xffff) throw new Error(`value too long for ${el.vr}`);
    head.writeUInt16LE(val.length, 6);
  }
  return Buffer.concat([head, val]);
}

/**
 * Encodes a Part 10 file: 128-byte preamble, "DICM", group 0002 with its group length, then
 * the data set (elements sorted by tag) in Explicit VR Little Endian. Returns the buffers to
 * write (the last one is the pixel data, passed through without copying).
 */
export function encodePart10(sopClassUid: string, sopInstanceUid: string, dataset: Element[], charset: Charset): Buffer[] {
  const meta = [
    { tag: 0x00020001, vr: 'OB', value: new Uint8Array([0, 1]) },
    { tag: 0x00020002, vr: 'UI', value: sopClassUid },
    { tag: 0x00020003, vr: 'UI', value: sopInstanceUid },
    { tag: 0x00020010, vr: 'UI', value: EXPLICIT_VR_LITTLE_ENDIAN },
    { tag: 0x00020012, vr: 'UI', value: IMPLEMENTATION_CLASS_UID },
    { tag: 0x00020013, vr: 'SH', value: IMPLEMENTATION_VERSION },
  ].map((e) => encodeElement(e, charset));
  const metaLength = meta.reduce((n, b) => n + b.length, 0);
  const preamble = Buffer.alloc(132);
  preamble.write('DICM', 128, 'latin1');
  const groupLength = encodeElement({ tag: 0x00020000, vr: 'UL', value: metaLength }, charset);
  const sorted = [...dataset].sort((a, b) => a.tag - b.tag);
  return [preamble, groupLength, ...meta, ...sorted.map((e) => encodeElement(e, charset))];
}

// ---------------------------------------------------------------------------------------
// Deterministic values
// ---------------------------------------------------------------------------------------

/** A 2.25 UID from 120 bits of a hash of the given parts: at most 42 characters, no leading zero. */
export function uid(...parts: (string | number)[]): string {
  const h = crypto.createHash('sha256').update(parts.join('/')).digest();
  const n = BigInt('0x' + h.subarray(0, 15).toString('hex')) + 1n;
  return `2.25.${n}`;
}

/** Fills a buffer with xorshift32 noise seeded from the parts (fast: ~1 GB/s). */
function noise(bytes: number, ...parts: (string | number)[]): Buffer {
  const buf = Buffer.allocUnsafe(bytes);
  const words = new Uint32Array(buf.buffer, buf.byteOffset, bytes >>> 2);
  let x = seedOf(parts);
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x;
  }
  for (let i = words.length * 4; i < bytes; i++) buf[i] = i & 0xff;
  return buf;
}

const pad = (n: number, w: number) => String(n).padStart(w, '0');

const GIVEN = ['Jürgen', 'Käthe', 'Björn', 'Änne', 'Günther', 'Dörte', 'Uwe', 'Jörg', 'Bärbel', 'Sören', 'Hildegard', 'Wolfgang'];
const FAMILY = ['Müller', 'Schäfer', 'Groß', 'Weiß', 'Köhler', 'Bäcker', 'Schröder', 'Krüger', 'Jäger', 'Hoffmann', 'Öztürk', 'Süß'];
/** Patient name "Family^Given" with umlauts, deterministic for an index. */
export const patientName = (i: number) => `${FAMILY[i % FAMILY.length]}^${GIVEN[Math.floor(i / FAMILY.length) % GIVEN.length]}`;

// ---------------------------------------------------------------------------------------
// Corpus description
// ---------------------------------------------------------------------------------------

export interface CorpusInstance {
  file: string;
  bytes: number;
  patientId: string;
  patientName: string;
  studyUid: string;
  seriesUid: string;
  sopInstanceUid: string;
  sopClassUid: string;
}

export interface CorpusStudy {
  studyUid: string;
  patientId: string;
  instances: number;
  bytes: number;
}

export interface Corpus {
  dir: string;
  /** True when this call wrote the files; false when they were reused from the cache. */
  generated: boolean;
  /** Which writer made the files. */
  generator: Generator;
  seconds: number;
  instances: CorpusInstance[];
  studies: CorpusStudy[];
  patientIds: string[];
  totalBytes: number;
}

export interface CorpusOptions {
  ct?: { patients: number; studiesPerPatient: number; seriesPerStudy: number; imagesPerSeries: number; rows: number; columns: number };
  cr?: { images: number; rows: number; columns: number };
  /** Changes every UID and pixel; two corpora with different seeds can coexist in one archive. */
  seed?: string;
  cacheRoot?: string;
  /** Default 'auto': test/helpers/dicom-files.ts when present, else the built-in writer. */
  generator?: Generator | 'auto';
}

export const DEFAULT_CORPUS: Required<Pick<CorpusOptions, 'ct' | 'cr'>> = {
  ct: { patients: 5, studiesPerPatient: 1, seriesPerStudy: 2, imagesPerSeries: 50, rows: 512, columns: 512 },
  cr: { images: 12, rows: 2048, columns: 2048 },
};

interface Planned extends CorpusInstance {
  write: () => Buffer[];
}

function summarise(dir: string, generated: boolean, generator: Generator, seconds: number, planned: Planned[]): Corpus {
  const instances = planned.map(({ write: _w, ...rest }) => rest);
  const studies = new Map<string, CorpusStudy>();
  for (const i of instances) {
    const s = studies.get(i.studyUid) ?? { studyUid: i.studyUid, patientId: i.patientId, instances: 0, bytes: 0 };
    s.instances++;
    s.bytes += i.bytes;
    studies.set(i.studyUid, s);
  }
  return {
    dir,
    generated,
    generator,
    seconds,
    instances,
    studies: [...studies.values()],
    patientIds: [...new Set(instances.map((i) => i.patientId))],
    totalBytes: instances.reduce((n, i) => n + i.bytes, 0),
  };
}

/** Writes the planned files unless `<dir>/COMPLETE` exists (written last, after every file). */
async function materialise(
  kind: string,
  params: object,
  opts: { cacheRoot?: string; generator?: Generator | 'auto' },
  plan: (dir: string, make: MakeInstance | undefined) => Planned[],
): Promise<Corpus> {
  const gen = await loadGenerator(opts.generator ?? 'auto');
  const key = { GENERATOR_VERSION, kind, params, generator: gen.kind, helperSources: gen.sourceHash ?? null };
  const hash = crypto.createHash('sha256').update(JSON.stringify(key)).digest('hex').slice(0, 16);
  const dir = path.join(opts.cacheRoot ?? defaultCacheRoot(), `${kind}-${gen.kind}-${hash}`);
  const planned = plan(dir, gen.make);
  const marker = path.join(dir, 'COMPLETE');
  if (fs.existsSync(marker)) return summarise(dir, false, gen.kind, 0, planned);
  const t0 = performance.now();
  fs.rmSync(dir, { recursive: true, force: true });
  const made = new Set<string>();
  for (const p of planned) {
    const d = path.dirname(p.file);
    if (!made.has(d)) {
      fs.mkdirSync(d, { recursive: true });
      made.add(d);
    }
    const fd = fs.openSync(p.file, 'w');
    try {
      fs.writevSync(fd, p.write());
    } finally {
      fs.closeSync(fd);
    }
  }
  fs.writeFileSync(path.join(dir, 'PARAMETERS.json'), JSON.stringify(key, null, 2));
  fs.writeFileSync(marker, new Date().toISOString());
  return summarise(dir, true, gen.kind, (performance.now() - t0) / 1000, planned);
}

const HEADER_ALLOWANCE = 2048; // generous upper bound on header bytes, used only to pre-compute sizes

function imageInstance(make: MakeInstance | undefined, o: {
  file: string;
  charset: Charset;
  sopClassUid: string;
  modality: string;
  patientId: string;
  patientName: string;
  birthDate: string;
  sex: string;
  studyUid: string;
  studyDate: string;
  studyId: string;
  accession: string;
  studyDescription: string;
  seriesUid: string;
  seriesNumber: number;
  seriesDescription: string;
  sopInstanceUid: string;
  instanceNumber: number;
  rows: number;
  columns: number;
  extra: Element[];
  pixelSeed: (string | number)[];
}): Planned {
  const pixelBytes = o.rows * o.columns * 2;
  const viaHelper = (): Buffer[] => [
    make!({
      syntax: 'explicit',
      sopClassUid: o.sopClassUid,
      patientName: o.patientName,
      characterSet: o.charset,
      patientId: o.patientId,
      birthDate: o.birthDate,
      sex: o.sex === 'F' ? 'F' : 'M',
      studyInstanceUid: o.studyUid,
      seriesInstanceUid: o.seriesUid,
      sopInstanceUid: o.sopInstanceUid,
      modality: o.modality,
      instanceNumber: o.instanceNumber,
      rows: o.rows,
      columns: o.columns,
      bitsAllocated: 16,
      pixels: 'random',
      seed: seedOf(o.pixelSeed),
    }).file,
  ];
  const build = (): Buffer[] => {
    const ds: Element[] = [
      { tag: 0x00080005, vr: 'CS', value: o.charset },
      { tag: 0x00080008, vr: 'CS', value: o.modality === 'CT' ? 'ORIGINAL\\PRIMARY\\AXIAL' : 'ORIGINAL\\PRIMARY' },
      { tag: 0x00080016, vr: 'UI', value: o.sopClassUid },
      { tag: 0x00080018, vr: 'UI', value: o.sopInstanceUid },
      { tag: 0x00080020, vr: 'DA', value: o.studyDate },
      { tag: 0x00080021, vr: 'DA', value: o.studyDate },
      { tag: 0x00080030, vr: 'TM', value: '101500' },
      { tag: 0x00080031, vr: 'TM', value: '101500' },
      { tag: 0x00080050, vr: 'SH', value: o.accession },
      { tag: 0x00080060, vr: 'CS', value: o.modality },
      { tag: 0x00080070, vr: 'LO', value: 'Kartei Bench' },
      { tag: 0x00080080, vr: 'LO', value: 'Gesundheitsamt Musterstadt' },
      { tag: 0x00080090, vr: 'PN', value: '' },
      { tag: 0x00081030, vr: 'LO', value: o.studyDescription },
      { tag: 0x0008103e, vr: 'LO', value: o.seriesDescription },
      { tag: 0x00100010, vr: 'PN', value: o.patientName },
      { tag: 0x00100020, vr: 'LO', value: o.patientId },
      { tag: 0x00100030, vr: 'DA', value: o.birthDate },
      { tag: 0x00100040, vr: 'CS', value: o.sex },
      { tag: 0x0020000d, vr: 'UI', value: o.studyUid },
      { tag: 0x0020000e, vr: 'UI', value: o.seriesUid },
      { tag: 0x00200010, vr: 'SH', value: o.studyId },
      { tag: 0x00200011, vr: 'IS', value: String(o.seriesNumber) },
      { tag: 0x00200013, vr: 'IS', value: String(o.instanceNumber) },
      { tag: 0x00280002, vr: 'US', value: 1 },
      { tag: 0x00280004, vr: 'CS', value: 'MONOCHROME2' },
      { tag: 0x00280010, vr: 'US', value: o.rows },
      { tag: 0x00280011, vr: 'US', value: o.columns },
      { tag: 0x00280100, vr: 'US', value: 16 },
      { tag: 0x00280101, vr: 'US', value: 16 },
      { tag: 0x00280102, vr: 'US', value: 15 },
      { tag: 0x00280103, vr: 'US', value: 0 },
      ...o.extra,
    ];
    const parts = encodePart10(o.sopClassUid, o.sopInstanceUid, ds, o.charset);
    const head = Buffer.alloc(12);
    head.writeUInt16LE(0x7fe0, 0);
    head.writeUInt16LE(0x0010, 2);
    head.write('OW', 4, 'latin1');
    head.writeUInt32LE(pixelBytes, 8);
    return [...parts, head, noise(pixelBytes, ...o.pixelSeed)];
  };
  // The exact size needs the header; compute it cheaply by encoding without pixels.
  let size = -1;
  return {
    file: o.file,
    get bytes() {
      if (size < 0) size = fs.existsSync(o.file) ? fs.statSync(o.file).size : pixelBytes + HEADER_ALLOWANCE;
      return size;
    },
    patientId: o.patientId,
    patientName: o.patientName,
    studyUid: o.studyUid,
    seriesUid: o.seriesUid,
    sopInstanceUid: o.sopInstanceUid,
    sopClassUid: o.sopClassUid,
    write: make ? viaHelper : build,
  };
}

/** The full corpus (CT + CR). Cached by a hash of the parameters (and of the generator's sources). */
export function generateCorpus(opts: CorpusOptions = {}): Promise<Corpus> {
  const ct = opts.ct ?? DEFAULT_CORPUS.ct;
  const cr = opts.cr ?? DEFAULT_CORPUS.cr;
  const seed = opts.seed ?? 'kartei-bench';
  return materialise('full', { ct, cr, seed }, opts, (dir, make) => {
    const out: Planned[] = [];
    for (let p = 0; p < ct.patients; p++) {
      const patientId = `BENCH-CT-${pad(p + 1, 4)}`;
      for (let s = 0; s < ct.studiesPerPatient; s++) {
        const studyUid = uid(seed, 'ct-study', p, s);
        const studyDate = `2025${pad((s % 12) + 1, 2)}${pad((p % 28) + 1, 2)}`;
        for (let r = 0; r < ct.seriesPerStudy; r++) {
          const seriesUid = uid(seed, 'ct-series', p, s, r);
          const frameOfReference = uid(seed, 'ct-for', p, s);
          for (let i = 0; i < ct.imagesPerSeries; i++) {
            const z = -200 + i * 2.5;
            out.push(
              imageInstance(make, {
                file: path.join(dir, 'ct', patientId, `st${s + 1}`, `se${r + 1}`, `${pad(i + 1, 4)}.dcm`),
                charset: 'ISO_IR 192',
                sopClassUid: CT_IMAGE_STORAGE,
                modality: 'CT',
                patientId,
                patientName: patientName(p),
                birthDate: `19${pad(40 + (p % 60), 2)}0${(p % 9) + 1}15`,
                sex: p % 2 ? 'F' : 'M',
                studyUid,
                studyDate,
                studyId: String(s + 1),
                accession: `A${pad(p + 1, 4)}${pad(s + 1, 2)}`,
                studyDescription: 'CT Thorax nativ',
                seriesUid,
                seriesNumber: r + 1,
                seriesDescription: r === 0 ? 'Weichteil 2,5 mm' : 'Lunge 2,5 mm',
                sopInstanceUid: uid(seed, 'ct-instance', p, s, r, i),
                instanceNumber: i + 1,
                rows: ct.rows,
                columns: ct.columns,
                extra: [
                  { tag: 0x00180050, vr: 'DS', value: '2.5' },
                  { tag: 0x00180060, vr: 'DS', value: '120' },
                  { tag: 0x00200032, vr: 'DS', value: `-250\\-250\\${z}` },
                  { tag: 0x00200037, vr: 'DS', value: '1\\0\\0\\0\\1\\0' },
                  { tag: 0x00200052, vr: 'UI', value: frameOfReference },
                  { tag: 0x00201041, vr: 'DS', value: String(z) },
                  { tag: 0x00280030, vr: 'DS', value: '0.976562\\0.976562' },
                  { tag: 0x00281050, vr: 'DS', value: '40' },
                  { tag: 0x00281051, vr: 'DS', value: '400' },
                  { tag: 0x00281052, vr: 'DS', value: '-1024' },
                  { tag: 0x00281053, vr: 'DS', value: '1' },
                ],
                pixelSeed: [seed, 'ct', p, s, r, i],
              }),
            );
          }
        }
      }
    }
    for (let i = 0; i < cr.images; i++) {
      const patientId = `BENCH-CR-${pad(i + 1, 4)}`;
      out.push(
        imageInstance(make, {
          file: path.join(dir, 'cr', `${patientId}.dcm`),
          charset: 'ISO_IR 100',
          sopClassUid: CR_IMAGE_STORAGE,
          modality: 'CR',
          patientId,
          patientName: patientName(i + 3),
          birthDate: `19${pad(50 + (i % 50), 2)}1${i % 3}0${(i % 9) + 1}`,
          sex: i % 2 ? 'M' : 'F',
          studyUid: uid(seed, 'cr-study', i),
          studyDate: `2025060${(i % 9) + 1}`,
          studyId: '1',
          accession: `R${pad(i + 1, 6)}`,
          studyDescription: 'Röntgen Thorax p.a.',
          seriesUid: uid(seed, 'cr-series', i),
          seriesNumber: 1,
          seriesDescription: 'Thorax p.a.',
          sopInstanceUid: uid(seed, 'cr-instance', i),
          instanceNumber: 1,
          rows: cr.rows,
          columns: cr.columns,
          extra: [
            { tag: 0x00180015, vr: 'CS', value: 'CHEST' },
            { tag: 0x00181164, vr: 'DS', value: '0.139\\0.139' },
            { tag: 0x00185101, vr: 'CS', value: 'PA' },
            { tag: 0x00280030, vr: 'DS', value: '0.139\\0.139' },
          ],
          pixelSeed: [seed, 'cr', i],
        }),
      );
    }
    return out;
  });
}

export interface ThinOptions {
  /** Number of instances. */
  count: number;
  /** Instances per study (one series per study); default 5. */
  perStudy?: number;
  /** Studies per patient; default 2 (so 10 instances per patient). */
  studiesPerPatient?: number;
  /** Distinguishes fills: PatientIDs are `${prefix}-000001`…; default THIN. */
  prefix?: string;
  seed?: string;
  cacheRoot?: string;
  generator?: Generator | 'auto';
}

/** N tiny instances (CT Image Storage, 1×1 pixel), many patients. Files in sub-directories of 1,000. */
export function generateThinCorpus(opts: ThinOptions): Promise<Corpus> {
  const perStudy = opts.perStudy ?? 5;
  const studiesPerPatient = opts.studiesPerPatient ?? 2;
  const prefix = opts.prefix ?? 'THIN';
  const seed = opts.seed ?? 'kartei-bench';
  const params = { count: opts.count, perStudy, studiesPerPatient, prefix, seed };
  return materialise('thin', params, opts, (dir, make) => {
    const out: Planned[] = [];
    for (let n = 0; n < opts.count; n++) {
      const study = Math.floor(n / perStudy);
      const p = Math.floor(study / studiesPerPatient);
      const s = study % studiesPerPatient;
      const patientId = `${prefix}-${pad(p + 1, 6)}`;
      const studyUid = uid(seed, prefix, 'study', p, s);
      const i = n % perStudy;
      out.push(
        imageInstance(make, {
          file: path.join(dir, pad(Math.floor(n / 1000), 4), `${pad(n, 7)}.dcm`),
          charset: 'ISO_IR 192',
          sopClassUid: CT_IMAGE_STORAGE,
          modality: 'CT',
          patientId,
          patientName: patientName(p),
          birthDate: `19${pad(30 + (p % 70), 2)}${pad((p % 12) + 1, 2)}${pad((p % 28) + 1, 2)}`,
          sex: p % 2 ? 'F' : 'M',
          studyUid,
          studyDate: `20${pad(10 + (s % 15), 2)}${pad((p % 12) + 1, 2)}${pad((s % 28) + 1, 2)}`,
          studyId: String(s + 1),
          accession: `${prefix.slice(0, 4)}${pad(study + 1, 8)}`,
          studyDescription: 'Kontrolle',
          seriesUid: uid(seed, prefix, 'series', p, s),
          seriesNumber: 1,
          seriesDescription: 'Übersicht',
          sopInstanceUid: uid(seed, prefix, 'instance', n),
          instanceNumber: i + 1,
          rows: 1,
          columns: 1,
          extra: [{ tag: 0x00281052, vr: 'DS', value: '-1024' }, { tag: 0x00281053, vr: 'DS', value: '1' }],
          pixelSeed: [seed, prefix, n],
        }),
      );
    }
    return out;
  });
}
