// An access report (Art. 15 GDPR) as a letter: the office's name, the date, the
// heading with the person's name and birth date, then each access in words — who,
// what, when, on what ground — grouped by day. One file's report for its head (from
// the file), or the DPO's over the files chosen in every department. Prints as a
// clean letter (the print stylesheet hides the navigation) and downloads as a PDF.
import { api } from '../../api/client.ts';
import type { AccessLine, AccessReportAnswer } from '../../api/types.ts';
import { currentLang, formatDate, useT } from '../../i18n/i18n.ts';
import { Loaded, useLoad } from '../../ui/load.tsx';
import { describeLine } from '../../../../src/audit/narrative-text.ts';

export type ReportSource = { kind: 'file'; personId: string } | { kind: 'files'; personIds: string[] };

const jsonUrl = (s: ReportSource) =>
  s.kind === 'file'
    ? `/api/persons/${encodeURIComponent(s.personId)}/access-report`
    : `/api/access-reports?persons=${s.personIds.map(encodeURIComponent).join(',')}`;
const pdfUrl = (s: ReportSource, lang: string) =>
  s.kind === 'file'
    ? `/api/persons/${encodeURIComponent(s.personId)}/access-report.pdf?lang=${lang}`
    : `/api/access-reports/letter.pdf?persons=${s.personIds.map(encodeURIComponent).join(',')}&lang=${lang}`;

export function AccessReport({ source }: { source: ReportSource }) {
  const t = useT();
  const key = jsonUrl(source);
  const report = useLoad(() => api<AccessReportAnswer>('GET', key), [key]);
  return <Loaded state={report}>{(r) => <Letter report={r} pdf={pdfUrl(source, currentLang())} t={t} />}</Loaded>;
}

const time = (iso: string) =>
  new Date(iso).toLocaleTimeString(currentLang() === 'de' ? 'de-DE' : 'en-GB', { hour: '2-digit', minute: '2-digit' });

function byDay(lines: AccessLine[]): { day: string; lines: AccessLine[] }[] {
  const out: { day: string; lines: AccessLine[] }[] = [];
  for (const line of lines) {
    const day = formatDate(line.at);
    if (out.at(-1)?.day !== day) out.push({ day, lines: [] });
    out.at(-1)!.lines.push(line);
  }
  return out;
}

function Letter({ report, pdf, t }: { report: AccessReportAnswer; pdf: string; t: ReturnType<typeof useT> }) {
  const person = report.persons[0];
  return (
    <article className="report letter" aria-labelledby="letter-title">
      <fieldset className="toolbar no-print" aria-label={t('report.actions')}>
        <button type="button" onClick={() => print()}>
          {t('report.print')}
        </button>
        <a className="button" href={pdf} download>
          {t('report.pdf')}
        </a>
      </fieldset>
      <p className="letterhead">{report.office}</p>
      <p className="letter-date">{t('narr.letter.made', { date: formatDate(report.madeAt) })}</p>
      <h2 id="letter-title">
        {t('narr.letter.title', {
          name: person ? `${person.givenName} ${person.familyName}` : '',
          birthDate: person ? formatDate(person.birthDate) : '',
        })}
      </h2>
      <p>{t('narr.letter.files', { files: report.persons.map((p) => p.department).join(', ') })}</p>
      <p>{t('narr.letter.intro')}</p>
      {report.lines.length === 0 && <p>{t('narr.letter.none')}</p>}
      {byDay(report.lines).map((group) => (
        <section key={group.day} aria-label={t('report.lines', { day: group.day })}>
          <h3>{group.day}</h3>
          <ul className="access-lines">
            {group.lines.map((line, i) => {
              const words = describeLine(line, t);
              const span = time(line.at) === time(line.until) ? time(line.at) : `${time(line.at)}–${time(line.until)}`;
              return (
                // biome-ignore lint/suspicious/noArrayIndexKey: a letter's lines, shown as read and never reordered; two lines may read alike
                <li key={i} className={line.outcome === 'denied' ? 'denied' : undefined}>
                  <span className="when">{span}</span>{' '}
                  <span>
                    <strong>{words.who}</strong> {words.what}
                  </span>
                  <span className="ground">
                    {words.ground} · {words.file}
                  </span>
                </li>
              );
            })}
          </ul>
        </section>
      ))}
      {report.leftOut > 0 && <p className="hint">{t('narr.letter.leftOut', { n: report.leftOut })}</p>}
    </article>
  );
}
