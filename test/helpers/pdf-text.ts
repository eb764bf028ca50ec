// The text of a PDF as pdfkit writes it (a test's reading, not a PDF parser):
// objects in clear, streams FlateDecode-compressed or not, text in fonts whose
// ToUnicode CMaps map the glyph codes back. One string per text object (BT … ET).
import { inflateSync } from 'node:zlib';

interface PdfObject {
  dict: string;
  data: Buffer | null;
}

function objects(pdf: Buffer): Map<number, PdfObject> {
  const out = new Map<number, PdfObject>();
  const text = pdf.toString('latin1');
  const re = /(\d+) 0 obj\s*([\s\S]*?)endobj/g;
  for (const m of text.matchAll(re)) {
    const body = m[2]!;
    const s = body.indexOf('stream');
    if (s < 0) {
      out.set(Number(m[1]), { dict: body, data: null });
      continue;
    }
    const start = m.index + m[0].indexOf(body) + s + 'stream'.length + (body[s + 6] === '\r' ? 2 : 1);
    const end = text.indexOf('endstream', start);
    let raw = pdf.subarray(start, end);
    const dict = body.slice(0, s);
    if (/\/FlateDecode/.test(dict)) raw = inflateSync(raw);
    out.set(Number(m[1]), { dict, data: raw });
  }
  return out;
}

/** glyph code → text, from a ToUnicode CMap of `beginbfrange` arrays (pdfkit's form). */
function cmapOf(data: string): Map<number, string> {
  const map = new Map<number, string>();
  for (const m of data.matchAll(/<([0-9a-f]+)> <([0-9a-f]+)> \[([^\]]*)\]/gi)) {
    let code = parseInt(m[1]!, 16);
    for (const entry of m[3]!.matchAll(/<([0-9a-f ]+)>/gi)) {
      const units = entry[1]!.split(' ').map((h) => parseInt(h, 16));
      map.set(code++, String.fromCharCode(...units));
    }
  }
  return map;
}

export function pdfText(pdf: Buffer): string[] {
  const objs = objects(pdf);
  const fonts = new Map<string, Map<number, string> | null>();
  for (const o of objs.values()) {
    for (const m of o.dict.matchAll(/\/(F\d+) (\d+) 0 R/g)) {
      const font = objs.get(Number(m[2]));
      const toUnicode = font && /\/ToUnicode (\d+) 0 R/.exec(font.dict);
      const cmap = toUnicode ? objs.get(Number(toUnicode[1]))?.data : null;
      fonts.set(m[1]!, cmap ? cmapOf(cmap.toString('latin1')) : null);
    }
  }
  const out: string[] = [];
  for (const o of objs.values()) {
    const content = o.data?.toString('latin1') ?? '';
    if (!/\bBT\b/.test(content)) continue;
    for (const block of content.matchAll(/BT([\s\S]*?)ET/g)) {
      let font: Map<number, string> | null = null;
      let line = '';
      for (const op of block[1]!.matchAll(/\/(F\d+) [\d.]+ Tf|<([0-9a-f]*)>|\(((?:\\.|[^\\)])*)\)/gi)) {
        if (op[1]) font = fonts.get(op[1]) ?? null;
        else if (op[2] !== undefined) {
          for (let i = 0; i + 4 <= op[2].length; i += 4) line += font?.get(parseInt(op[2].slice(i, i + 4), 16)) ?? '';
        } else if (op[3] !== undefined) line += op[3].replace(/\\(.)/g, '$1');
      }
      out.push(line);
    }
  }
  return out;
}
