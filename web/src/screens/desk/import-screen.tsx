// Issue 17: import — the desk's Import tab: upload a CSV or XLSX file into a department (its head's
// act), and the department's earlier imports; `/desk/import/<id>` opens one job (import-job.tsx).
import { useState } from 'react';
import { ApiError, request } from '../../api/client.ts';
import type { ImportJob, ImportJobDetail } from '../../api/types.ts';
import { formatDateTime, useT } from '../../i18n/i18n.ts';
import { Link, navigate } from '../../router.tsx';
import { errorTitle, Field } from '../../ui/form.tsx';
import { useDepartmentChoice } from '../../ui/department-choice.tsx';
import { Loaded, useLoad } from '../../ui/load.tsx';
import { fieldMessage, fieldProblems } from '../../ui/problem-text.ts';
import { Table } from '../../ui/table.tsx';
import { api } from '../../api/client.ts';
import { ImportJobScreen } from './import-job.tsx';
import { jobState } from './import-shared.ts';

/** The media type a file is sent as: XLSX by its name or type, else CSV (Windows names CSV as Excel's). */
const mediaTypeOf = (f: File) =>
  /\.xlsx$/i.test(f.name) || f.type.includes('spreadsheetml')
    ? 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'
    : 'text/csv';

export function ImportScreen({ rest }: { rest: string }) {
  const t = useT();
  const { departmentId, chooser } = useDepartmentChoice(['head']);
  if (rest) return <ImportJobScreen id={rest} />;
  if (!departmentId) return <p>{t('import.onlyHead')}</p>;
  return (
    <div className="import">
      <h2>{t('import.title')}</h2>
      <p>{t('import.intro')}</p>
      {chooser}
      <Upload key={`u${departmentId}`} departmentId={departmentId} />
      <Earlier key={`e${departmentId}`} departmentId={departmentId} />
    </div>
  );
}

function Upload({ departmentId }: { departmentId: string }) {
  const t = useT();
  const [file, setFile] = useState<File | null>(null);
  const [busy, setBusy] = useState(false);
  const [failed, setFailed] = useState<string | null>(null);
  return (
    <form
      className="stacked"
      aria-label={t('import.upload')}
      onSubmit={async (e) => {
        e.preventDefault();
        if (!file) return;
        setBusy(true);
        setFailed(null);
        try {
          const res = await request('POST', `/api/departments/${departmentId}/imports`, {
            raw: { bytes: file, type: mediaTypeOf(file) },
          });
          const job = (await res.json()) as ImportJobDetail;
          navigate(`/desk/import/${job.id}`);
        } catch (err) {
          if (err instanceof ApiError && err.status === 413) setFailed(t('import.tooLarge'));
          else if (err instanceof ApiError && err.status === 415) setFailed(t('import.wrongType'));
          else if (err instanceof ApiError) {
            const problems = fieldProblems(err);
            setFailed(problems.length ? problems.map(fieldMessage).join(' ') : errorTitle(t, err));
          } else setFailed(t('error.network'));
        } finally {
          setBusy(false);
        }
      }}
    >
      <Field label={t('import.file')} hint={t('import.fileHint')} error={failed ?? undefined}>
        {(a) => (
          <input
            {...a}
            type="file"
            name="file"
            accept=".csv,.txt,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            onChange={(e) => setFile(e.target.files?.[0] ?? null)}
          />
        )}
      </Field>
      <div className="actions">
        <button type="submit" className="primary" disabled={busy || !file}>
          {t('import.upload')}
        </button>
      </div>
    </form>
  );
}

function Earlier({ departmentId }: { departmentId: string }) {
  const t = useT();
  const list = useLoad(
    () => api<{ items: ImportJob[] }>('GET', `/api/departments/${departmentId}/imports`),
    [departmentId],
  );
  return (
    <section aria-labelledby="import-earlier">
      <h3 id="import-earlier">{t('import.earlier')}</h3>
      <Loaded state={list}>
        {({ items }) => (
          <Table
            items={items}
            none={t('import.none')}
            caption={t('import.earlier')}
            headers={[
              t('import.createdAt'),
              t('import.format'),
              t('import.rows'),
              t('import.stateLabel'),
              t('import.countsLabel'),
              t('common.actions'),
            ]}
            row={(j) => (
              <tr key={j.id}>
                <td>{formatDateTime(j.createdAt)}</td>
                <td>{j.format.toUpperCase()}</td>
                <td>{j.rowCount.toLocaleString('de-DE')}</td>
                <td>{t(`import.state.${jobState(j)}`)}</td>
                <td>{j.state === 'uploaded' ? '—' : t('import.counts', j.counts)}</td>
                <td className="actions">
                  <Link to={`/desk/import/${j.id}`}>
                    {t('import.open')}
                    <span className="visually-hidden"> {t('import.job', { at: formatDateTime(j.createdAt) })}</span>
                  </Link>
                </td>
              </tr>
            )}
          />
        )}
      </Loaded>
    </section>
  );
}
