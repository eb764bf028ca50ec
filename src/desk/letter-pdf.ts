// Issue 17: letters — a filled letter as PDF/A-2b, laid out after DIN 5008 (form B): the letterhead at the
// top, the return line and the address in the window (20 mm from the left, 45 mm from the top), the
// information block on the right (date 04.12.2026, reference), the subject, the body, the signature line,
// fold and punch marks. pdfkit writes the PDF/A identification (XMP pdfaid part 2, conformance B), the sRGB
// output intent and the structure tree (tagged); every glyph comes from Debian's DejaVu Sans, embedded
// (fonts-dejavu-core) — without it no letter is made (PDF/A forbids the standard fonts unembedded).
// Made in memory and handed back as bytes: nothing is ever written to disk unsealed.
import { existsSync } from 'node:fs';

const FONT = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';
const FONT_BOLD = '/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf';
const MM = 72 / 25.4;

export interface LetterLayout {
  /** The document's title (PDF metadata), e.g. the subject. */
  title: string;
  letterhead: { officeName: string; addressLines: string[]; phone?: string; email?: string };
  /** The return address line above the recipient, in small print. */
  senderLine: string;
  /** The recipient's address, line by line. */
  recipient: string[];
  /** The letter's date, written 04.12.2026. */
  date: string;
  reference?: string;
  subject: string;
  body: string;
  signature: string;
}

/** The letter's bytes as PDF/A-2b. `compress: false` only where a test reads the text. */
export async function letterPdf(letter: LetterLayout, opts: { compress?: boolean } = {}): Promise<Buffer> {
  if (!existsSync(FONT) || !existsSync(FONT_BOLD)) throw new Error('the DejaVu fonts (fonts-dejavu-core) are missing');
  // Loaded with the first letter, not with the server (its heap is rarely needed).
  const { default: PDFDocument } = await import('pdfkit');
  const doc = new PDFDocument({
    size: 'A4',
    margins: { top: 20 * MM, left: 25 * MM, right: 20 * MM, bottom: 20 * MM },
    compress: opts.compress ?? true,
    subset: 'PDF/A-2b',
    pdfVersion: '1.7',
    tagged: true,
    lang: 'de-DE',
    displayTitle: true,
    info: { Title: letter.title, Author: letter.letterhead.officeName, Creator: 'Kartei', Producer: 'Kartei (pdfkit)' },
  });
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  doc.registerFont('body', FONT);
  doc.registerFont('bold', FONT_BOLD);
  const left = 25 * MM;
  const width = doc.page.width - left - 20 * MM;
  // The structure tree (tagged PDF): one Document element, a heading or paragraph for each block.
  const root = doc.struct('Document');
  doc.addStructure(root);
  const structure = (type: string, draw: () => void) => {
    root.add(doc.struct(type, {}, [draw]));
  };

  // Fold marks (105 mm, 210 mm) and the punch mark (148.5 mm) on the first page: artefacts, not content.
  doc.markContent('Artifact', { type: 'Layout' });
  doc.lineWidth(0.4).strokeColor('#999999');
  for (const y of [105, 210])
    doc
      .moveTo(4 * MM, y * MM)
      .lineTo(8 * MM, y * MM)
      .stroke();
  doc
    .moveTo(4 * MM, 148.5 * MM)
    .lineTo(10 * MM, 148.5 * MM)
    .stroke();
  doc.endMarkedContent();
  doc.strokeColor('black');

  // Letterhead: the office's name, its address and how to reach it.
  const head = letter.letterhead;
  structure('H1', () =>
    doc
      .font('bold')
      .fontSize(14)
      .text(head.officeName, left, 15 * MM, { width }),
  );
  const contact = [...head.addressLines, head.phone ? `Telefon ${head.phone}` : '', head.email ?? '']
    .filter((l) => l.trim() !== '')
    .join(' · ');
  if (contact) structure('P', () => doc.font('body').fontSize(8.5).fillColor('#333333').text(contact, { width }));
  doc.fillColor('black');

  // Address window (form B): return line, then the recipient.
  const windowLeft = 20 * MM;
  const windowTop = 45 * MM;
  const windowWidth = 85 * MM;
  if (letter.senderLine.trim())
    structure('P', () =>
      doc
        .font('body')
        .fontSize(7)
        .text(letter.senderLine, windowLeft + 5 * MM, windowTop + 2 * MM, {
          width: windowWidth - 5 * MM,
          underline: true,
          lineBreak: false,
          ellipsis: true,
        }),
    );
  structure('P', () =>
    doc
      .font('body')
      .fontSize(10)
      .text(letter.recipient.filter((l) => l.trim() !== '').join('\n'), windowLeft + 5 * MM, windowTop + 17.7 * MM, {
        width: windowWidth - 5 * MM,
      }),
  );

  // Information block on the right: reference and date.
  const infoLeft = 125 * MM;
  const info = [letter.reference ? `Zeichen: ${letter.reference}` : '', `Datum: ${letter.date}`].filter(Boolean);
  structure('P', () =>
    doc
      .font('body')
      .fontSize(9)
      .text(info.join('\n'), infoLeft, 50 * MM, { width: 65 * MM }),
  );

  // Subject, body, signature.
  structure('H2', () =>
    doc
      .font('bold')
      .fontSize(11)
      .text(letter.subject, left, 98.5 * MM, { width }),
  );
  doc.moveDown(1);
  for (const paragraph of letter.body.split(/\n{2,}/)) {
    structure('P', () => doc.font('body').fontSize(10).text(paragraph, left, doc.y, { width, align: 'left' }));
    doc.moveDown(0.6);
  }
  if (letter.signature.trim()) {
    doc.moveDown(1);
    structure('P', () => doc.font('body').fontSize(10).text(letter.signature, left, doc.y, { width }));
  }

  root.end();
  doc.end();
  return done;
}
