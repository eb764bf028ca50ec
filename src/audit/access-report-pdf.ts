// An access report as a PDF letter: the office's name as letterhead, the date, the
// heading "Auskunft nach Art. 15 DSGVO über Zugriffe auf die Daten von …", and the
// report's lines grouped by day, worded like the screen (narrative-text.ts). Made
// on request in memory and handed back as bytes: nothing is written to disk (the
// report names a person and who read their file). The font is Debian's DejaVu
// Sans (fonts-dejavu-core), which has every German letter and the quotes; without
// it the PDF falls back to Helvetica.
import { existsSync } from 'node:fs';
import type { AccessLine, AccessReportAnswer } from '../contract/audit.ts';
import { describeLine, lookupIn, NARRATIVE_DE, NARRATIVE_EN } from './narrative-text.ts';

const FONT = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';
const FONT_BOLD = '/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf';
/** The office's time: the letter's dates and times are Germany's. */
const ZONE = 'Europe/Berlin';

export type ReportLang = 'de' | 'en';

const locale = (lang: ReportLang) => (lang === 'de' ? 'de-DE' : 'en-GB');
const day = (iso: string, lang: ReportLang) =>
  new Date(iso).toLocaleDateString(locale(lang), { timeZone: ZONE, day: '2-digit', month: '2-digit', year: 'numeric' });
const time = (iso: string, lang: ReportLang) =>
  new Date(iso).toLocaleTimeString(locale(lang), { timeZone: ZONE, hour: '2-digit', minute: '2-digit' });
/** A birth date (YYYY-MM-DD) as 17.04.1961, with no time zone to shift it. */
const birth = (date: string, lang: ReportLang) => {
  const [y, m, d] = date.split('-');
  return lang === 'de' ? `${d}.${m}.${y}` : `${d}/${m}/${y}`;
};

/** The report's lines by day, in order. */
function byDay(lines: readonly AccessLine[], lang: ReportLang): { day: string; lines: AccessLine[] }[] {
  const out: { day: string; lines: AccessLine[] }[] = [];
  for (const line of lines) {
    const d = day(line.at, lang);
    if (out.at(-1)?.day !== d) out.push({ day: d, lines: [] });
    out.at(-1)!.lines.push(line);
  }
  return out;
}

/** The letter's bytes. `compress: false` only where a test reads the text. */
export async function accessReportPdf(
  report: AccessReportAnswer,
  lang: ReportLang,
  opts: { compress?: boolean } = {},
): Promise<Buffer> {
  const t = lookupIn(lang === 'de' ? NARRATIVE_DE : NARRATIVE_EN);
  const person = report.persons[0];
  const title = t('narr.letter.title', {
    name: person ? `${person.givenName} ${person.familyName}` : '',
    birthDate: person ? birth(person.birthDate, lang) : '',
  });
  // Loaded with the first report, not with the server (its heap is rarely needed).
  const { default: PDFDocument } = await import('pdfkit');
  const doc = new PDFDocument({
    size: 'A4',
    margin: 56,
    compress: opts.compress ?? true,
    info: { Title: title, Author: report.office },
  });
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  const hasFont = existsSync(FONT) && existsSync(FONT_BOLD);
  if (hasFont) {
    doc.registerFont('body', FONT);
    doc.registerFont('bold', FONT_BOLD);
  }
  const body = hasFont ? 'body' : 'Helvetica';
  const bold = hasFont ? 'bold' : 'Helvetica-Bold';

  doc.font(bold).fontSize(16).text(report.office);
  doc
    .moveDown(0.2)
    .lineWidth(0.5)
    .moveTo(doc.page.margins.left, doc.y)
    .lineTo(doc.page.width - doc.page.margins.right, doc.y)
    .stroke();
  doc
    .moveDown(1)
    .font(body)
    .fontSize(10)
    .text(t('narr.letter.made', { date: day(report.madeAt, lang) }), { align: 'right' });

  doc.moveDown(1).font(bold).fontSize(13).text(title);
  doc
    .moveDown(0.5)
    .font(body)
    .fontSize(10)
    .text(t('narr.letter.files', { files: report.persons.map((p) => p.department).join(', ') }));
  doc.moveDown(0.5).text(t('narr.letter.intro'));

  if (report.lines.length === 0) doc.moveDown(1).text(t('narr.letter.none'));
  for (const group of byDay(report.lines, lang)) {
    doc.moveDown(1).font(bold).fontSize(11).text(group.day);
    for (const line of group.lines) {
      const words = describeLine(line, t);
      const span =
        time(line.at, lang) === time(line.until, lang)
          ? time(line.at, lang)
          : `${time(line.at, lang)}–${time(line.until, lang)}`;
      doc
        .moveDown(0.3)
        .font(bold)
        .fontSize(10)
        .text(`${span}  `, { continued: true })
        .font(body)
        .text(`${words.who} ${words.what}`);
      doc.fontSize(9).fillColor('#444444').text(`${words.ground} · ${words.file}`, { indent: 20 }).fillColor('black');
    }
  }
  if (report.leftOut > 0)
    doc
      .moveDown(1)
      .font(body)
      .fontSize(9)
      .text(t('narr.letter.leftOut', { n: report.leftOut }));
  doc.end();
  return done;
}
