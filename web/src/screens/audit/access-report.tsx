import { api } from '../../api/client.ts';
import type { AuditEntry } from '../../api/types.ts';
import { formatDateTime, useT } from '../../i18n/i18n.ts';
import { Loaded, useLoad } from '../../ui/load.tsx';
import { AuditTable } from './audit-table.tsx';

/** Every recorded access to one file, newest first, laid out for printing. */
export function AccessReport({ personId }: { personId: string }) {
  const t = useT();
  const log = useLoad(() => api<AuditEntry[]>('GET', `/api/persons/${personId}/access-log?limit=1000`), [personId]);
  return (
    <article className="report">
      <div className="heading-row">
        <h2>{t('audit.reportTitle')}</h2>
        <button type="button" className="no-print" onClick={() => print()}>
          {t('audit.print')}
        </button>
      </div>
      <p>
        {t('audit.reportFile')}: <code>{personId}</code> · {t('audit.reportMade', { at: formatDateTime(new Date().toISOString()) })}
      </p>
      <Loaded state={log}>{(entries) => (entries.length ? <AuditTable entries={entries} withPerson={false} /> : <p>{t('audit.none')}</p>)}</Loaded>
    </article>
  );
}
