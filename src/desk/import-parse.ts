// Reading an uploaded CSV or XLSX file into a table of strings (issue 17): which format it is (an XLSX
// is a ZIP), which encoding a CSV has (a BOM; valid UTF-8 read by a fatal decoder; otherwise
// Windows-1252, the German Excel's "CSV (Trennzeichen-getrennt)"), which delimiter (`;` German Excel,
// `,`, tab), parsed by csv-parse and exceljs — never by hand. Works in memory only: nothing here
// touches the disk.
import { parse as parseCsv } from 'csv-parse/sync';
import type * as ExcelJS from 'exceljs';
import iconv from 'iconv-lite';
import type JSZip from 'jszip';

export const ENCODINGS = ['utf-8', 'windows-1252'] as const;
export type Encoding = (typeof ENCODINGS)[number];
export const DELIMITERS = [';', ',', '\t'] as const;
export type Delimiter = (typeof DELIMITERS)[number];
export type Format = 'csv' | 'xlsx';

/** A file read into rows of cell texts: the first row names the columns. */
export interface Table {
  header: string[];
  /** The data rows, each padded or cut to the header's width; `rowNumber` as a spreadsheet counts (header = 1). */
  rows: { rowNumber: number; cells: string[] }[];
}

export class UnreadableFile extends Error {}

/**
 * The most an XLSX may unpack to, all its parts together. exceljs inflates every part whole in memory
 * (and builds a cell object per cell), so a ZIP bomb within the upload limit — a sheet of whitespace or
 * empty cells deflated 1000:1 — would take gigabytes (attack test: 2 MB unpacking to 500 MiB took 2.3 GB);
 * 200,000 real rows of a few dozen columns stay well below this.
 */
export const MAX_XLSX_UNPACKED = 256 * 1024 * 1024;
/** The most columns a file may have (the mapping names columns 0–499); a cell at XFD1 would make every row 16,384 wide. */
const MAX_COLUMNS = 500;
/** The most data rows a file may have: a whole office's files, with room to spare. */
export const MAX_ROWS = 200_000;
/** Excel's last row. */
const EXCEL_ROWS = 1_048_576;

const ZIP = Buffer.from([0x50, 0x4b, 0x03, 0x04]);
const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/** An XLSX (Office Open XML) is a ZIP archive; anything else is read as CSV text. */
export const detectFormat = (bytes: Buffer): Format => (bytes.subarray(0, 4).equals(ZIP) ? 'xlsx' : 'csv');

/** UTF-8 when it has a BOM or decodes without a single invalid sequence; otherwise Windows-1252. */
export function detectEncoding(bytes: Buffer): Encoding {
  if (bytes.subarray(0, 3).equals(UTF8_BOM)) return 'utf-8';
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return 'utf-8';
  } catch {
    return 'windows-1252';
  }
}

/**
 * The text in `encoding`, without a BOM. UTF-8 is decoded leniently here: a byte that is not UTF-8
 * becomes U+FFFD, and the row holding it is refused (`encoding-invalid`), so a wrong choice shows per row.
 */
export function decode(bytes: Buffer, encoding: Encoding): string {
  if (encoding === 'utf-8') return new TextDecoder('utf-8', { fatal: false, ignoreBOM: false }).decode(bytes);
  return iconv.decode(bytes, 'win1252');
}

/** The delimiter that splits the first lines most evenly into more than one column (quotes respected). */
export function detectDelimiter(text: string): Delimiter {
  const lines = firstLines(text, 20);
  let best: Delimiter = ';';
  let bestScore = -1;
  for (const d of DELIMITERS) {
    const counts = lines.map((l) => countOutsideQuotes(l, d));
    const first = counts[0] ?? 0;
    if (first === 0) continue;
    // Every line with the header's count scores; a delimiter that varies from line to line scores less.
    const score = counts.filter((c) => c === first).length * 1000 + first;
    if (score > bestScore) {
      bestScore = score;
      best = d;
    }
  }
  return best;
}

function firstLines(text: string, n: number): string[] {
  const out: string[] = [];
  let start = 0;
  while (out.length < n && start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const line = text.slice(start, end).replace(/\r$/, '');
    if (line.trim()) out.push(line);
    start = end + 1;
  }
  return out;
}

function countOutsideQuotes(line: string, d: string): number {
  let quoted = false;
  let n = 0;
  for (const ch of line) {
    if (ch === '"') quoted = !quoted;
    else if (ch === d && !quoted) n++;
  }
  return n;
}

/** Reads the whole file as a table; `limit` data rows at most (a preview). Throws UnreadableFile. */
export async function readTable(
  bytes: Buffer,
  format: Format,
  settings: { encoding?: Encoding | null; delimiter?: Delimiter | null } = {},
  limit?: number,
): Promise<Table> {
  const raw = format === 'xlsx' ? await readXlsx(bytes, limit) : readCsv(bytes, settings, limit);
  const [head, ...data] = raw;
  if (!head || head.every((c) => !c.trim())) throw new UnreadableFile('the file has no header row');
  if (head.length > MAX_COLUMNS) throw new UnreadableFile(`the file has more than ${MAX_COLUMNS} columns`);
  const width = head.length;
  const rows: Table['rows'] = [];
  data.forEach((cells, i) => {
    // An empty line (Excel writes `;;;` for one) is no row to import.
    if (cells.every((c) => !c.trim())) return;
    const fitted = cells.length === width ? cells : Array.from({ length: width }, (_, j) => cells[j] ?? '');
    rows.push({ rowNumber: i + 2, cells: fitted });
  });
  return { header: head.map((h) => h.trim()), rows };
}

function readCsv(
  bytes: Buffer,
  settings: { encoding?: Encoding | null; delimiter?: Delimiter | null },
  limit?: number,
): string[][] {
  const text = decode(bytes, settings.encoding ?? detectEncoding(bytes));
  const delimiter = settings.delimiter ?? detectDelimiter(text);
  try {
    return parseCsv(text, {
      delimiter,
      bom: true,
      relax_column_count: true,
      relax_quotes: true,
      skip_empty_lines: false,
      ...(limit !== undefined ? { to: limit + 1 } : {}),
    }) as string[][];
  } catch (e) {
    throw new UnreadableFile(`not a readable CSV file: ${(e as Error).message.slice(0, 200)}`);
  }
}

/** The first worksheet's cells as text: dates as ISO dates, numbers as written, formulas by their result. */
async function readXlsx(bytes: Buffer, limit?: number): Promise<string[][]> {
  await refuseZipBomb(bytes);
  // Loaded when an XLSX arrives, not with the server: ~10 MB of heap an office's server rarely needs.
  const { default: excel } = await import('exceljs');
  const book = new excel.Workbook();
  try {
    await book.xlsx.load(bytes as unknown as ArrayBuffer);
  } catch (e) {
    throw new UnreadableFile(`not a readable XLSX file: ${(e as Error).message.slice(0, 200)}`);
  }
  const sheet = book.worksheets[0];
  if (!sheet) throw new UnreadableFile('the workbook has no worksheet');
  // Checked first (it costs nothing): exceljs walks its rows as an array, so a row numbered 999,999,999
  // made `columnCount` and `eachRow` count through a billion empty places, the event loop stuck for a minute.
  if (sheet.rowCount > EXCEL_ROWS) throw new UnreadableFile(`a row is numbered past ${EXCEL_ROWS}`);
  const out: string[][] = [];
  const width = sheet.columnCount;
  // Checked before a row is walked: every row is copied this wide.
  if (width > MAX_COLUMNS) throw new UnreadableFile(`the file has more than ${MAX_COLUMNS} columns`);
  let kept = 0;
  // Only rows holding a cell, read through `values` (which makes no cell objects, unlike `getCell`);
  // after the header and MAX_ROWS + 1 data rows the file is refused as too many rows anyway, so no more are copied.
  sheet.eachRow((row, n) => {
    if ((limit !== undefined && n > limit + 1) || kept >= MAX_ROWS + 2) return;
    const values = row.values as ExcelJS.CellValue[];
    const cells: string[] = [];
    for (let c = 1; c <= width; c++) cells.push(cellText(values[c]));
    if (n > 1 && cells.every((c) => !c.trim())) return;
    out[n - 1] = cells;
    kept++;
  });
  for (let i = 0; i < out.length; i++) out[i] ??= [];
  return out;
}

/**
 * Counts what the ZIP's parts really inflate to (never what their headers claim), a chunk at a time and
 * dropping each chunk, and refuses before exceljs loads it all once the sum passes MAX_XLSX_UNPACKED.
 */
async function refuseZipBomb(bytes: Buffer): Promise<void> {
  let zip: JSZip;
  try {
    zip = await (await import('jszip')).default.loadAsync(bytes);
  } catch (e) {
    throw new UnreadableFile(`not a readable XLSX file: ${(e as Error).message.slice(0, 200)}`);
  }
  let total = 0;
  for (const entry of Object.values(zip.files)) {
    if (entry.dir) continue;
    await new Promise<void>((resolve, reject) => {
      const stream = entry.nodeStream('nodebuffer');
      stream.on('data', (chunk: Buffer) => {
        total += chunk.length;
        if (total <= MAX_XLSX_UNPACKED) return;
        // Paused and left: the rest of the part is never inflated.
        stream.pause();
        stream.removeAllListeners();
        reject(new UnreadableFile(`the XLSX file unpacks to more than ${MAX_XLSX_UNPACKED / (1024 * 1024)} MiB`));
      });
      stream.on('error', (e: Error) =>
        reject(new UnreadableFile(`not a readable XLSX file: ${e.message.slice(0, 200)}`)),
      );
      stream.on('end', () => resolve());
    });
  }
}

function cellText(v: ExcelJS.CellValue): string {
  if (v === null || v === undefined) return '';
  if (v instanceof Date) return v.toISOString().slice(0, 10);
  if (typeof v === 'object') {
    if ('richText' in v) return v.richText.map((t) => t.text).join('');
    if ('result' in v) return cellText(v.result as ExcelJS.CellValue);
    if ('text' in v) return String(v.text);
    if ('error' in v) return '';
    return '';
  }
  return String(v);
}
