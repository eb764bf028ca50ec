// One record: its content, its version history, and editing it (a stale edit
// is refused by the server and the typed content stays in the form).
import { useState } from 'react';
import { api, ApiError } from '../api/client.ts';
import type { RecordVersion, RecordView } from '../api/types.ts';
import { formatDate, formatDateTime, useT } from '../i18n/i18n.ts';
import { Link } from '../router.tsx';
import { SaveOrCancel, useForm } from '../ui/form.tsx';
import { Loaded, useLoad } from '../ui/load.tsx';
import { RecordFields, type RecordFormValues } from '../records/record-form.tsx';
import { RECORD_FORMS, contentOf, fieldLabel, optionLabel, typeLabel, valuesOf } from '../records/record-fields.ts';
import { Table } from '../ui/table.tsx';
import { useNotify } from '../ui/notice.tsx';

export function RecordScreen({ recordId }: { recordId: string }) {
  const t = useT();
  const record = useLoad(() => api<RecordView>('GET', `/api/records/${recordId}`), [recordId]);
  const versions = useLoad(() => api<RecordVersion[]>('GET', `/api/records/${recordId}/versions`), [recordId]);
  const [editing, setEditing] = useState(false);
  if (record.error instanceof ApiError && record.error.status === 403) {
    return (
      <p role="alert" className="form-error">
        {t('record.restrictedForClerks')}
      </p>
    );
  }
  return (
    <Loaded state={record}>
      {(r) => (
        <article aria-labelledby="record-title">
          <p>
            <Link to={`/persons/${r.personId}`}>{t('record.backToFile')}</Link>
          </p>
          <div className="heading-row">
            <h1 id="record-title">
              {t(typeLabel(r.type))} · {formatDateTime(r.createdAt)}
            </h1>
            {r.sensitivity === 'restricted' && <span className="badge restricted">{t('sensitivity.restricted')}</span>}
            {!editing && r.permissions.update && (
              <button type="button" onClick={() => setEditing(true)}>
                {t('record.edit')}
              </button>
            )}
          </div>
          {editing ? (
            <EditRecord
              record={r}
              onDone={() => {
                setEditing(false);
                record.reload();
                versions.reload();
              }}
              onCancel={() => setEditing(false)}
            />
          ) : (
            <RecordContent record={r} />
          )}
          <h2>{t('record.versions')}</h2>
          <Loaded state={versions}>
            {(vs) => (
              <Table
                items={vs}
                headers={[t('record.version'), t('record.changedAt'), t('record.sensitivity')]}
                row={(v) => (
                  <tr key={v.version}>
                    <td>{v.version}</td>
                    <td>{formatDateTime(v.createdAt)}</td>
                    <td>{t(`sensitivity.${v.sensitivity}`)}</td>
                  </tr>
                )}
              />
            )}
          </Loaded>
        </article>
      )}
    </Loaded>
  );
}

function RecordContent({ record }: { record: RecordView }) {
  const t = useT();
  const show = (v: unknown, kind: unknown): string => {
    if (v === undefined || v === '') return '—';
    if (typeof v === 'boolean') return v ? t('common.yes') : t('common.no');
    if (Array.isArray(v)) return v.join(', ') || '—';
    if (kind === 'date') return formatDate(String(v));
    if (typeof kind === 'object' && !String(v).startsWith('§')) return t(optionLabel(String(v)));
    return String(v);
  };
  return (
    <dl className="facts content">
      {(RECORD_FORMS[record.type] ?? []).map((f) => (
        <div key={f.name}>
          <dt>{t(fieldLabel(record.type, f.name))}</dt>
          <dd className={f.kind === 'long' ? 'long' : undefined}>{show(record.content[f.name], f.kind)}</dd>
        </div>
      ))}
    </dl>
  );
}

function EditRecord({ record, onDone, onCancel }: { record: RecordView; onDone: () => void; onCancel: () => void }) {
  const t = useT();
  const notify = useNotify();
  const form = useForm<RecordFormValues>({ sensitivity: record.sensitivity, fields: valuesOf(record.type, record.content) });
  return (
    <form
      noValidate
      className="stacked panel"
      onSubmit={form.onSubmit(async (v) => {
        await api('PUT', `/api/records/${record.id}`, { content: contentOf(record.type, v.fields), sensitivity: v.sensitivity, version: record.version });
        notify(t('common.saved'));
        onDone();
      })}
    >
      <RecordFields type={record.type} form={form} restrictedAllowed={record.permissions.restrict} />
      <SaveOrCancel form={form} fields={['content', 'sensitivity']} onCancel={onCancel} />
    </form>
  );
}
