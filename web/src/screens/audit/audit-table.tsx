// Audit events as a table; each file's events lead to its access report.
import type { AuditEntry } from '../../api/types.ts';
import { formatDateTime, useT } from '../../i18n/i18n.ts';
import { Link } from '../../router.tsx';

export function AuditTable({ entries, withPerson }: { entries: AuditEntry[]; withPerson: boolean }) {
  const t = useT();
  return (
    <table>
      <thead>
        <tr>
          <th scope="col">{t('audit.seq')}</th>
          <th scope="col">{t('audit.at')}</th>
          <th scope="col">{t('audit.actor')}</th>
          <th scope="col">{t('audit.action')}</th>
          <th scope="col">{t('audit.outcome')}</th>
          {withPerson && <th scope="col">{t('audit.file')}</th>}
          <th scope="col">{t('audit.reason')}</th>
        </tr>
      </thead>
      <tbody>
        {entries.map((e) => (
          <tr key={e.seq} className={e.outcome === 'allowed' ? undefined : 'flagged'}>
            <td>{e.seq}</td>
            <td>{formatDateTime(e.at)}</td>
            <td>{e.actorName ?? e.actorId ?? '—'}</td>
            <td>
              <code>{e.action}</code>
            </td>
            <td>{t(`outcome.${e.outcome}`)}</td>
            {withPerson && <td>{e.personId ? <Link to={`/audit/persons/${e.personId}`}>{t('audit.report')}</Link> : '—'}</td>}
            <td>{e.reason ?? ''}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
