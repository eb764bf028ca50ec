// Issue 17: import — the outcome of each row of an import job (after the dry run: what would happen; after
// the import: what did), filtered by outcome and reason, a page at a time; a created or matched row links
// to its file. Row numbers and codes only: the rows' values are not kept.
import { useState } from 'react';
import { api } from '../../api/client.ts';
import type { ImportJob, ImportOutcome, ImportReason, ImportRow } from '../../api/types.ts';
import { IMPORT_OUTCOMES, IMPORT_REASONS } from '../../../../src/contract/import.ts';
import { type MessageKey, useT } from '../../i18n/i18n.ts';
import { Link } from '../../router.tsx';
import { SelectField } from '../../ui/form.tsx';
import { Loaded, useLoad } from '../../ui/load.tsx';
import { Table } from '../../ui/table.tsx';

const PAGE = 100;

export function ImportRows({ job, version }: { job: ImportJob; version: number }) {
  const t = useT();
  const [outcome, setOutcome] = useState<ImportOutcome | ''>('');
  const [reason, setReason] = useState<ImportReason | ''>('');
  const [pages, setPages] = useState(1);
  const query = () => {
    const q = new URLSearchParams({ limit: String(PAGE * pages) });
    if (outcome) q.set('outcome', outcome);
    if (reason) q.set('reason', reason);
    return q.toString();
  };
  // biome-ignore lint/correctness/useExhaustiveDependencies: the filters, pages and the job's version decide the query
  const rows = useLoad(
    () => api<{ items: ImportRow[]; total: number }>('GET', `/api/imports/${job.id}/rows?${query()}`),
    [job.id, outcome, reason, pages, version],
  );
  return (
    <section aria-labelledby="import-rows">
      <h3 id="import-rows">{t('import.outcomes')}</h3>
      <div className="row">
        <SelectField
          label={t('import.filterOutcome')}
          name="outcome"
          value={outcome}
          onChange={(x) => {
            setOutcome(x);
            setPages(1);
          }}
          options={[
            { value: '' as const, label: t('import.all') },
            ...IMPORT_OUTCOMES.map((o) => ({ value: o, label: t(`import.outcome.${o}`) })),
          ]}
        />
        <SelectField
          label={t('import.filterReason')}
          name="reason"
          value={reason}
          onChange={(x) => {
            setReason(x);
            setPages(1);
          }}
          options={[
            { value: '' as const, label: t('import.all') },
            ...IMPORT_REASONS.map((r) => ({ value: r, label: t(`import.reason.${r}` as MessageKey) })),
          ]}
        />
      </div>
      <Loaded state={rows}>
        {({ items, total }) => (
          <>
            <p className="hint">{t('import.shown', { shown: items.length, total })}</p>
            <Table
              items={items}
              caption={t('import.outcomes')}
              headers={[t('import.rowNumber'), t('import.filterOutcome'), t('import.reason'), t('import.person')]}
              row={(r) => {
                const done = r.outcome !== null;
                const o = done ? r.outcome! : r.planned;
                const why = done ? r.reason : r.plannedReason;
                return (
                  <tr key={r.rowNumber} className={`import-${o}`}>
                    <td>{r.rowNumber}</td>
                    <td>{t((done ? `import.outcome.${o}` : `import.planned.${o}`) as MessageKey)}</td>
                    <td>{why ? t(`import.reason.${why}` as MessageKey) : '—'}</td>
                    <td>
                      {r.personId ? (
                        <Link to={`/persons/${r.personId}`}>
                          {t('import.openPerson')}
                          <span className="visually-hidden">
                            {' '}
                            ({t('import.rowNumber')} {r.rowNumber})
                          </span>
                        </Link>
                      ) : (
                        '—'
                      )}
                    </td>
                  </tr>
                );
              }}
            />
            {items.length < total && (
              <div className="actions">
                <button type="button" onClick={() => setPages((p) => p + 1)}>
                  {t('import.more')}
                </button>
              </div>
            )}
          </>
        )}
      </Loaded>
    </section>
  );
}
