// Reproducible DICOM corpus for `npm run bench:dicom`.
//
// generateCorpus(): the "full" corpus — CT Image Storage (default 5 patients × 1 study ×
//   2 series × 50 images of 512×512×16 bit) plus CR Image Storage (default 12 images of
//   2048×2048×16 bit), ~363 MB. CT patients are encoded in ISO_IR 192 (UTF-8), CR patients
//   in ISO_IR 100 (Latin-1); both carry German umlauts in their names.
// generateThinCorpus(): N tiny instances (1×1 pixel) spread over many patients, to fill an
//   index to a given size for query latency.
//
// Part 10, Explicit VR Little Endian, made by `makeInstance` from test/helpers/dicom-files.ts
// (the project's own test-instance generator). Everything (UIDs, names, pixels) is derived
// from the parameters, so a corpus is generated once into <cache>/<hash of parameters and of
// the generator's sources>/ and reused; the list of instances is recomputed in memory, not
// read back from disk.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeInstance, type InstanceOptions } from '../../test/helpers/dicom-files.ts';

/** Bump when the bytes written change without a change to GENERATOR_SOURCES, so cached corpora are regenerated. */
const GENERATOR_VERSION = 1;

export const CT_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.2';
export const CR_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.1';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** Sources whose changes alter makeInstance's output; a hash of them is part of the cache key. */
const GENERATOR_SOURCES = [
  'test/helpers/dicom-files.ts',
  'src/imaging/dicom/dataset-writer.ts',
  'src/imaging/dicom/part10.ts',
  'src/imaging/dicom/tags.ts',
  'src/imaging/dicom/uids.ts',
];

function generatorSourceHash(): string {
  const h = crypto.createHash('sha256');
  for (const f of GENERATOR_SOURCES) h.update(fs.readFileSync(path.join(REPO, f)));
  return h.digest('hex').slice(0, 16);
}

const seedOf = (parts: (string | number)[]) =>
  crypto.createHash('sha256').update(parts.join('/')).digest().readUInt32LE(0) || 1;

export const defaultCacheRoot = () => process.env.BENCH_DICOM_CACHE ?? path.join(os.tmpdir(), 'kartei-bench-dicom');

// ---------------------------------------------------------------------------------------
// Deterministic values
// ---------------------------------------------------------------------------------------

/** A 2.25 UID from 120 bits of a hash of the given parts: at most 42 characters, no leading zero. */
export function uid(...parts: (string | number)[]): string {
  const h = crypto.createHash('sha256').update(parts.join('/')).digest();
  const n = BigInt(`0x${h.subarray(0, 15).toString('hex')}`) + 1n;
  return `2.25.${n}`;
}

const pad = (n: number, w: number) => String(n).padStart(w, '0');

const GIVEN = [
  'Jürgen',
  'Käthe',
  'Björn',
  'Änne',
  'Günther',
  'Dörte',
  'Uwe',
  'Jörg',
  'Bärbel',
  'Sören',
  'Hildegard',
  'Wolfgang',
];
const FAMILY = [
  'Müller',
  'Schäfer',
  'Groß',
  'Weiß',
  'Köhler',
  'Bäcker',
  'Schröder',
  'Krüger',
  'Jäger',
  'Hoffmann',
  'Öztürk',
  'Süß',
];
/** Patient name "Family^Given" with umlauts, deterministic for an index. */
export const patientName = (i: number) =>
  `${FAMILY[i % FAMILY.length]}^${GIVEN[Math.floor(i / FAMILY.length) % GIVEN.length]}`;

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
  seconds: number;
  instances: CorpusInstance[];
  studies: CorpusStudy[];
  patientIds: string[];
  totalBytes: number;
}

export interface CorpusOptions {
  ct?: {
    patients: number;
    studiesPerPatient: number;
    seriesPerStudy: number;
    imagesPerSeries: number;
    rows: number;
    columns: number;
  };
  cr?: { images: number; rows: number; columns: number };
  /** Changes every UID and pixel; two corpora with different seeds can coexist in one archive. */
  seed?: string;
  cacheRoot?: string;
}

export const DEFAULT_CORPUS: Required<Pick<CorpusOptions, 'ct' | 'cr'>> = {
  ct: { patients: 5, studiesPerPatient: 1, seriesPerStudy: 2, imagesPerSeries: 50, rows: 512, columns: 512 },
  cr: { images: 12, rows: 2048, columns: 2048 },
};

interface Planned extends CorpusInstance {
  write: () => Buffer;
}

function summarise(dir: string, generated: boolean, seconds: number, planned: Planned[]): Corpus {
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
  opts: { cacheRoot?: string },
  plan: (dir: string) => Planned[],
): Promise<Corpus> {
  const key = { GENERATOR_VERSION, kind, params, generatorSources: generatorSourceHash() };
  const hash = crypto.createHash('sha256').update(JSON.stringify(key)).digest('hex').slice(0, 16);
  const dir = path.join(opts.cacheRoot ?? defaultCacheRoot(), `${kind}-${hash}`);
  const planned = plan(dir);
  const marker = path.join(dir, 'COMPLETE');
  if (fs.existsSync(marker)) return summarise(dir, false, 0, planned);
  const t0 = performance.now();
  fs.rmSync(dir, { recursive: true, force: true });
  const made = new Set<string>();
  for (const p of planned) {
    const d = path.dirname(p.file);
    if (!made.has(d)) {
      fs.mkdirSync(d, { recursive: true });
      made.add(d);
    }
    fs.writeFileSync(p.file, p.write());
  }
  fs.writeFileSync(path.join(dir, 'PARAMETERS.json'), JSON.stringify(key, null, 2));
  fs.writeFileSync(marker, new Date().toISOString());
  return summarise(dir, true, (performance.now() - t0) / 1000, planned);
}

const HEADER_ALLOWANCE = 2048; // generous upper bound on header bytes, used only for a size estimate before the file exists

function imageInstance(o: {
  file: string;
  charset: NonNullable<InstanceOptions['characterSet']>;
  sopClassUid: string;
  modality: string;
  patientId: string;
  patientName: string;
  birthDate: string;
  sex: 'M' | 'F';
  studyUid: string;
  seriesUid: string;
  sopInstanceUid: string;
  instanceNumber: number;
  rows: number;
  columns: number;
  pixelSeed: (string | number)[];
}): Planned {
  const pixelBytes = o.rows * o.columns * 2;
  const write = () =>
    makeInstance({
      syntax: 'explicit',
      sopClassUid: o.sopClassUid,
      patientName: o.patientName,
      characterSet: o.charset,
      patientId: o.patientId,
      birthDate: o.birthDate,
      sex: o.sex,
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
    }).file;
  // The exact size is the file's, once written.
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
    write,
  };
}

/** The full corpus (CT + CR). Cached by a hash of the parameters and of the generator's sources. */
export function generateCorpus(opts: CorpusOptions = {}): Promise<Corpus> {
  const ct = opts.ct ?? DEFAULT_CORPUS.ct;
  const cr = opts.cr ?? DEFAULT_CORPUS.cr;
  const seed = opts.seed ?? 'kartei-bench';
  return materialise('full', { ct, cr, seed }, opts, (dir) => {
    const out: Planned[] = [];
    for (let p = 0; p < ct.patients; p++) {
      const patientId = `BENCH-CT-${pad(p + 1, 4)}`;
      for (let s = 0; s < ct.studiesPerPatient; s++) {
        const studyUid = uid(seed, 'ct-study', p, s);
        for (let r = 0; r < ct.seriesPerStudy; r++) {
          const seriesUid = uid(seed, 'ct-series', p, s, r);
          for (let i = 0; i < ct.imagesPerSeries; i++) {
            out.push(
              imageInstance({
                file: path.join(dir, 'ct', patientId, `st${s + 1}`, `se${r + 1}`, `${pad(i + 1, 4)}.dcm`),
                charset: 'ISO_IR 192',
                sopClassUid: CT_IMAGE_STORAGE,
                modality: 'CT',
                patientId,
                patientName: patientName(p),
                birthDate: `19${pad(40 + (p % 60), 2)}0${(p % 9) + 1}15`,
                sex: p % 2 ? 'F' : 'M',
                studyUid,
                seriesUid,
                sopInstanceUid: uid(seed, 'ct-instance', p, s, r, i),
                instanceNumber: i + 1,
                rows: ct.rows,
                columns: ct.columns,
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
        imageInstance({
          file: path.join(dir, 'cr', `${patientId}.dcm`),
          charset: 'ISO_IR 100',
          sopClassUid: CR_IMAGE_STORAGE,
          modality: 'CR',
          patientId,
          patientName: patientName(i + 3),
          birthDate: `19${pad(50 + (i % 50), 2)}1${i % 3}0${(i % 9) + 1}`,
          sex: i % 2 ? 'M' : 'F',
          studyUid: uid(seed, 'cr-study', i),
          seriesUid: uid(seed, 'cr-series', i),
          sopInstanceUid: uid(seed, 'cr-instance', i),
          instanceNumber: 1,
          rows: cr.rows,
          columns: cr.columns,
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
}

/** N tiny instances (CT Image Storage, 1×1 pixel), many patients. Files in sub-directories of 1,000. */
export function generateThinCorpus(opts: ThinOptions): Promise<Corpus> {
  const perStudy = opts.perStudy ?? 5;
  const studiesPerPatient = opts.studiesPerPatient ?? 2;
  const prefix = opts.prefix ?? 'THIN';
  const seed = opts.seed ?? 'kartei-bench';
  const params = { count: opts.count, perStudy, studiesPerPatient, prefix, seed };
  return materialise('thin', params, opts, (dir) => {
    const out: Planned[] = [];
    for (let n = 0; n < opts.count; n++) {
      const study = Math.floor(n / perStudy);
      const p = Math.floor(study / studiesPerPatient);
      const s = study % studiesPerPatient;
      const patientId = `${prefix}-${pad(p + 1, 6)}`;
      const studyUid = uid(seed, prefix, 'study', p, s);
      const i = n % perStudy;
      out.push(
        imageInstance({
          file: path.join(dir, pad(Math.floor(n / 1000), 4), `${pad(n, 7)}.dcm`),
          charset: 'ISO_IR 192',
          sopClassUid: CT_IMAGE_STORAGE,
          modality: 'CT',
          patientId,
          patientName: patientName(p),
          birthDate: `19${pad(30 + (p % 70), 2)}${pad((p % 12) + 1, 2)}${pad((p % 28) + 1, 2)}`,
          sex: p % 2 ? 'F' : 'M',
          studyUid,
          seriesUid: uid(seed, prefix, 'series', p, s),
          sopInstanceUid: uid(seed, prefix, 'instance', n),
          instanceNumber: i + 1,
          rows: 1,
          columns: 1,
          pixelSeed: [seed, prefix, n],
        }),
      );
    }
    return out;
  });
}
