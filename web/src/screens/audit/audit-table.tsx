// Audit events as a table; each file's events lead to its access report.
import type { AuditEntry } from '../../api/types.ts';
import { formatDateTime, useT } from '../../i18n/i18n.ts';
import { Link } from '../../router.tsx';
import { Table } from '../../ui/table.tsx';

export function AuditTable({ entries, withPerson }: { entries: AuditEntry[]; withPerson: boolean }) {
  const t = useT();
  return (
    <Table
      items={entries}
      headers={[
        t('audit.seq'),
        t('audit.at'),
        t('audit.actor'),
        t('audit.action'),
        t('audit.outcome'),
        ...(withPerson ? [t('audit.file')] : []),
        t('audit.reason'),
        t('audit.detail'),
      ]}
      row={(e) => (
        <tr key={e.seq} className={e.outcome === 'allowed' ? undefined : 'flagged'}>
          <td>{e.seq}</td>
          <td>{formatDateTime(e.at)}</td>
          <td>{e.actorService === 'demis' ? t('audit.actorDemis') : (e.actorName ?? e.actorId ?? '—')}</td>
          <td>
            <code>{e.action}</code>
          </td>
          <td>{t(`outcome.${e.outcome}`)}</td>
          {withPerson && (
            <td>{e.personId ? <Link to={`/audit/persons/${e.personId}`}>{t('audit.report')}</Link> : '—'}</td>
          )}
          <td>{e.reason ?? ''}</td>
          <td>{e.detail ? <code>{detailText(e.detail)}</code> : ''}</td>
        </tr>
      )}
    />
  );
}

/** An event's non-personal facts as `key=value` pairs, for instance `grantedRoles=dpo`. */
const detailText = (d: NonNullable<AuditEntry['detail']>) =>
  Object.entries(d)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' · ');
