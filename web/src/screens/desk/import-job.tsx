// Issue 17: import — one import job: the file's facts, its encoding (as detected, changeable) and delimiter,
// its first rows, the mapping of columns to fields (one select per field, German names), the dry run and its
// outcome per row (import-rows.tsx), then start with a confirmation, the progress bar while it runs (polled),
// resume after an interruption, the report to download, and discarding the job.
import { useEffect, useState } from 'react';
import { api, ApiError } from '../../api/client.ts';
import type { ImportJob, ImportJobDetail, ImportMapping, ImportRecordType } from '../../api/types.ts';
import { IMPORT_PERSON_FIELDS, IMPORT_RECORD_FIELDS } from '../../../../src/contract/import.ts';
import { formatDateTime, type MessageKey, useT } from '../../i18n/i18n.ts';
import { Link } from '../../router.tsx';
import { useConfirm } from '../../ui/confirm.tsx';
import { FormError, SelectField, useForm } from '../../ui/form.tsx';
import { Loaded, useLoad } from '../../ui/load.tsx';
import { useNotify } from '../../ui/notice.tsx';
import { jobState } from './import-shared.ts';
import { ImportRows } from './import-rows.tsx';

const REQUIRED = ['familyName', 'givenName', 'birthDate'] as const;

export function ImportJobScreen({ id }: { id: string }) {
  const t = useT();
  const [n, setN] = useState(0);
  // biome-ignore lint/correctness/useExhaustiveDependencies: n counts changes; a new one loads again
  const job = useLoad(() => api<ImportJobDetail>('GET', `/api/imports/${encodeURIComponent(id)}`), [id, n]);
  const reload = () => setN((x) => x + 1);
  return (
    <div className="import">
      <p>
        <Link to="/desk/import">{t('import.back')}</Link>
      </p>
      <Loaded state={job}>{(j) => <Job job={j} onChanged={reload} />}</Loaded>
    </div>
  );
}

function Job({ job, onChanged }: { job: ImportJobDetail; onChanged: () => void }) {
  const t = useT();
  const state = jobState(job);
  const [rowsVersion, setRowsVersion] = useState(0);
  return (
    <>
      <h2>{t('import.job', { at: formatDateTime(job.createdAt) })}</h2>
      <p>
        {t('import.fileFacts', {
          format: job.format.toUpperCase(),
          size: Math.max(1, Math.round(job.size / 1024)).toLocaleString('de-DE'),
          rows: job.rowCount.toLocaleString('de-DE'),
        })}{' '}
        — {t(`import.state.${state}`)}
      </p>
      {(job.state === 'uploaded' || job.state === 'checked') && (
        <Mapping
          job={job}
          onChecked={() => {
            setRowsVersion((x) => x + 1);
            onChanged();
          }}
        />
      )}
      {job.state !== 'uploaded' && job.state !== 'discarded' && <Run job={job} onChanged={onChanged} />}
      {job.state !== 'uploaded' && <ImportRows job={job} version={rowsVersion + job.position} />}
      {job.state !== 'done' && job.state !== 'discarded' && !job.active && <Discard job={job} onChanged={onChanged} />}
    </>
  );
}

type Cols = Record<string, string>;

/** The form's values: a column index (as text) per person field, a record type and its fields' columns. */
function initial(job: ImportJobDetail): {
  encoding: string;
  delimiter: string;
  person: Cols;
  type: string;
  record: Cols;
} {
  const m = job.mapping;
  const person: Cols = {};
  for (const f of IMPORT_PERSON_FIELDS) {
    const known = m?.person[f];
    person[f] = known !== undefined ? String(known) : guess(job.columns, f);
  }
  const record: Cols = {};
  for (const [f, c] of Object.entries(m?.record?.fields ?? {})) record[f] = String(c);
  return {
    encoding: job.encoding ?? '',
    delimiter: job.delimiter ?? '',
    person,
    type: m?.record?.type ?? '',
    record,
  };
}

/** A column whose heading names the field in German or English, as a first suggestion. */
const HEADINGS: Record<string, RegExp> = {
  familyName: /^(nach|familien)?name$|nachname|familienname|surname|family/i,
  givenName: /vorname|given|first/i,
  birthDate: /geburt|birth|geb\.?\s*dat/i,
  sex: /geschlecht|^sex$|gender/i,
  street: /stra(ß|ss)e|street|adresse/i,
  postalCode: /^plz$|postleitzahl|postal|zip/i,
  city: /^ort$|wohnort|stadt|city/i,
  country: /^land$|country/i,
  dicomPatientId: /patient.?id|pid/i,
};
function guess(columns: string[], field: string): string {
  const i = columns.findIndex((c) => HEADINGS[field]?.test(c.trim()));
  return i >= 0 ? String(i) : '';
}

function Mapping({ job, onChecked }: { job: ImportJobDetail; onChecked: () => void }) {
  const t = useT();
  const form = useForm(initial(job));
  const v = form.values;
  const columnOptions = [
    { value: '', label: t('import.noColumn') },
    ...job.columns.map((name, i) => ({ value: String(i), label: t('import.column', { n: i + 1, name: name || '—' }) })),
  ];
  const fields = v.type ? (IMPORT_RECORD_FIELDS[v.type as ImportRecordType] as readonly string[]) : [];
  return (
    <form
      noValidate
      aria-labelledby="import-mapping"
      onSubmit={form.onSubmit(async (values) => {
        const person: Record<string, number> = {};
        for (const [f, c] of Object.entries(values.person)) if (c !== '') person[f] = Number(c);
        const record: Record<string, number> = {};
        for (const [f, c] of Object.entries(values.record))
          if (c !== '' && (fields as string[]).includes(f)) record[f] = Number(c);
        const mapping = {
          person,
          ...(values.type ? { record: { type: values.type, fields: record } } : {}),
        } as unknown as ImportMapping;
        await api('POST', `/api/imports/${job.id}/dry-run`, {
          version: job.version,
          ...(job.format === 'csv' ? { encoding: values.encoding, delimiter: values.delimiter } : {}),
          mapping,
        });
        onChecked();
      })}
    >
      <h3 id="import-mapping">{t('import.mapping')}</h3>
      {job.format === 'csv' && (
        <div className="row">
          <SelectField
            label={t('import.encoding')}
            name="encoding"
            value={v.encoding}
            onChange={(x) => form.set('encoding', x)}
            options={[
              { value: 'utf-8', label: 'UTF-8' },
              { value: 'windows-1252', label: 'Windows-1252 (ANSI)' },
            ]}
          />
          <p className="hint">{t('import.encodingDetected', { encoding: job.detectedEncoding ?? '' })}</p>
          <SelectField
            label={t('import.delimiter')}
            name="delimiter"
            value={v.delimiter}
            onChange={(x) => form.set('delimiter', x)}
            options={[
              { value: ';', label: t('import.delimiter.semicolon') },
              { value: ',', label: t('import.delimiter.comma') },
              { value: '\t', label: t('import.delimiter.tab') },
            ]}
          />
        </div>
      )}
      <Preview job={job} />
      <p>{t('import.mappingIntro')}</p>
      <div className="grid">
        {IMPORT_PERSON_FIELDS.map((f) => (
          <SelectField
            key={f}
            label={`${t(`import.field.${f}` as MessageKey)}${(REQUIRED as readonly string[]).includes(f) ? ' *' : ''}`}
            name={`person.${f}`}
            value={v.person[f] ?? ''}
            onChange={(x) => form.set('person', { ...v.person, [f]: x })}
            options={columnOptions}
            error={form.fieldError(`mapping.person.${f}`)}
          />
        ))}
      </div>
      <SelectField
        label={t('import.recordType')}
        name="recordType"
        value={v.type}
        onChange={(x) => form.set('type', x)}
        options={[
          { value: '', label: t('import.recordNone') },
          ...Object.keys(IMPORT_RECORD_FIELDS).map((k) => ({ value: k, label: t(`import.record.${k}` as MessageKey) })),
        ]}
      />
      {fields.length > 0 && (
        <div className="grid">
          {fields.map((f) => (
            <SelectField
              key={f}
              label={t(`import.recordField.${f}` as MessageKey)}
              name={`record.${f}`}
              value={v.record[f] ?? ''}
              onChange={(x) => form.set('record', { ...v.record, [f]: x })}
              options={columnOptions}
              error={form.fieldError(`mapping.record.fields.${f}`)}
            />
          ))}
        </div>
      )}
      {form.error instanceof ApiError && form.error.code === 'stale-version' ? (
        <p role="alert" className="form-error">
          {t('error.staleVersion')}
        </p>
      ) : (
        <FormError form={form} fields={['mapping.person', 'mapping.record']} />
      )}
      <div className="actions">
        <button
          type="submit"
          className={job.state === 'uploaded' ? 'primary' : undefined}
          disabled={form.busy || REQUIRED.some((f) => !v.person[f])}
        >
          {job.state === 'uploaded' ? t('import.dryRun') : t('import.dryRunAgain')}
        </button>
      </div>
    </form>
  );
}

function Preview({ job }: { job: ImportJobDetail }) {
  const t = useT();
  if (job.preview.length === 0) return null;
  return (
    <div className="table-scroll">
      <table>
        <caption>{t('import.preview')}</caption>
        <thead>
          <tr>
            <th scope="col">{t('import.rowNumber')}</th>
            {job.columns.map((c, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: the file's columns in their order
              <th key={i} scope="col">
                {c || '—'}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {job.preview.map((r) => (
            <tr key={r.rowNumber}>
              <th scope="row">{r.rowNumber}</th>
              {r.cells.map((c, i) => (
                // biome-ignore lint/suspicious/noArrayIndexKey: the row's cells in the columns' order
                <td key={i}>{c}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Run({ job, onChanged }: { job: ImportJobDetail; onChanged: () => void }) {
  const t = useT();
  const { ask, dialog } = useConfirm();
  const form = useForm({});
  const state = jobState(job);
  // While it runs, the job is asked again every second for its position.
  useEffect(() => {
    if (!job.active) return;
    const timer = setTimeout(onChanged, 1000);
    return () => clearTimeout(timer);
  }, [job, onChanged]);
  const percent = job.rowCount ? Math.round((job.position / job.rowCount) * 100) : 0;
  return (
    <section aria-labelledby="import-run">
      <h3 id="import-run">{t('import.progress')}</h3>
      {job.state === 'checked' && <p>{t('import.planned', job.counts)}</p>}
      {job.state === 'checked' && <p className="hint">{t('import.matchedNote')}</p>}
      {(job.state === 'running' || job.state === 'done') && (
        <>
          <progress max={job.rowCount} value={job.position} aria-label={t('import.progress')}>
            {percent} %
          </progress>
          <p role="status">
            {t('import.progressText', {
              position: job.position.toLocaleString('de-DE'),
              rows: job.rowCount.toLocaleString('de-DE'),
            })}{' '}
            — {t('import.counts', job.counts)}
          </p>
        </>
      )}
      {state === 'interrupted' && <p className="banner">{t('import.interrupted')}</p>}
      {job.state === 'done' && (
        <p role="status" className="banner success">
          {t('import.done', job.counts)}
        </p>
      )}
      {(job.state === 'checked' || state === 'interrupted') && (
        <form
          noValidate
          onSubmit={form.onSubmit(async () => {
            if (job.state === 'checked') {
              const yes = await ask({
                title: t('import.confirmTitle'),
                text: t('import.confirmText', job.counts),
                confirm: t('import.start'),
              });
              if (!yes) return;
            }
            await api<ImportJob>('POST', `/api/imports/${job.id}/start`, { version: job.version });
            onChanged();
          })}
        >
          <FormError form={form} fields={[]} />
          <div className="actions">
            <button type="submit" className="primary" disabled={form.busy}>
              {state === 'interrupted' ? t('import.resume') : t('import.start')}
            </button>
          </div>
        </form>
      )}
      <p>
        <a href={`/api/imports/${job.id}/report`} download>
          {t('import.report')}
        </a>
      </p>
      {dialog}
    </section>
  );
}

function Discard({ job, onChanged }: { job: ImportJobDetail; onChanged: () => void }) {
  const t = useT();
  const notify = useNotify();
  const { ask, dialog } = useConfirm();
  const form = useForm({});
  return (
    <form
      noValidate
      onSubmit={form.onSubmit(async () => {
        const yes = await ask({
          title: t('import.discardTitle'),
          text: t('import.discardText'),
          confirm: t('import.discard'),
        });
        if (!yes) return;
        await api('POST', `/api/imports/${job.id}/discard`, { version: job.version });
        notify(t('import.discarded'));
        onChanged();
      })}
    >
      <FormError form={form} fields={[]} />
      <div className="actions">
        <button type="submit" disabled={form.busy}>
          {t('import.discard')}
        </button>
      </div>
      {dialog}
    </form>
  );
}
