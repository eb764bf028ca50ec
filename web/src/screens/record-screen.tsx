// One record: its content, its version history (who changed which fields, each
// change opened to a field diff), and editing it (a stale edit is refused by the
// server and the typed content stays in the form).
import { useEffect, useState } from 'react';
import { api, ApiError } from '../api/client.ts';
import type { RecordVersion, RecordVersionContent, RecordView } from '../api/types.ts';
import { formatDate, formatDateTime, useT } from '../i18n/i18n.ts';
import { Link, navigate } from '../router.tsx';
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
      {(r) =>
        // Issue 16: an IfSG case (and a contact, on its index case's screen) is shown by the infection hub.
        r.type === 'ifsg-case' || r.type === 'ifsg-contact' ? (
          <SentOn
            to={`/infection/cases/${r.type === 'ifsg-case' ? r.id : String(r.content.indexCaseId)}${r.type === 'ifsg-contact' ? `#contact-${r.id}` : ''}`}
          />
        ) : (
          <article aria-labelledby="record-title">
            <p>
              <Link to={`/persons/${r.personId}`}>{t('record.backToFile')}</Link>
            </p>
            <div className="heading-row">
              <h1 id="record-title">
                {t(typeLabel(r.type))} · {formatDateTime(r.createdAt)}
              </h1>
              {r.sensitivity === 'restricted' && (
                <span className="badge restricted">{t('sensitivity.restricted')}</span>
              )}
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
                <ul className="versions">
                  {vs.map((v) => (
                    <VersionItem key={v.version} record={r} version={v} />
                  ))}
                </ul>
              )}
            </Loaded>
          </article>
        )
      }
    </Loaded>
  );
}

/** A record another screen shows: the address is replaced, so Back skips this one. */
function SentOn({ to }: { to: string }) {
  const t = useT();
  useEffect(() => navigate(to, true), [to]);
  return <p className="loading">{t('common.loading')}</p>;
}

/** A field's value as the screen shows it: dates as 12.04.2026, options and yes/no in words. */
function useShow() {
  const t = useT();
  return (v: unknown, kind: unknown): string => {
    if (v === undefined || v === '') return '—';
    if (typeof v === 'boolean') return v ? t('common.yes') : t('common.no');
    if (Array.isArray(v)) return v.join(', ') || '—';
    if (kind === 'date') return formatDate(String(v));
    if (typeof kind === 'object' && !String(v).startsWith('§')) return t(optionLabel(String(v)));
    return String(v);
  };
}

/** "12.04.2026 18:40 — Dr. Name: Befund, Diagnosen geändert", opened to the fields before and after. */
function VersionItem({ record, version: v }: { record: RecordView; version: RecordVersion }) {
  const t = useT();
  const [diff, setDiff] = useState<{ before: RecordVersionContent; after: RecordVersionContent } | 'failed' | null>(
    null,
  );
  const who = v.createdByName ?? '—';
  const names = (v.changes ?? []).map((f) =>
    f === 'sensitivity' ? t('record.sensitivity') : t(fieldLabel(record.type, f)),
  );
  const head = `${formatDateTime(v.createdAt)} — ${who}: `;
  const tail = ` ${t('record.versionN', { n: v.version })}`;
  if (v.version === 1 || v.changes === null || v.changes.length === 0) {
    const what =
      v.version === 1 ? t('record.created') : v.changes === null ? t('record.changesHidden') : t('record.unchanged');
    return <li>{head + what + tail}</li>;
  }
  const open = async () => {
    if (diff) return;
    try {
      const [before, after] = await Promise.all([
        api<RecordVersionContent>('GET', `/api/records/${record.id}/versions/${v.version - 1}`),
        api<RecordVersionContent>('GET', `/api/records/${record.id}/versions/${v.version}`),
      ]);
      setDiff({ before, after });
    } catch {
      setDiff('failed');
    }
  };
  return (
    <li>
      <details onToggle={(e) => (e.currentTarget as HTMLDetailsElement).open && void open()}>
        <summary>{head + t('record.changedFields', { fields: names.join(', ') }) + tail}</summary>
        {diff === 'failed' && <p role="alert">{t('record.diffFailed')}</p>}
        {diff && diff !== 'failed' && (
          <VersionDiff record={record} changes={v.changes} before={diff.before} after={diff.after} />
        )}
      </details>
    </li>
  );
}

function VersionDiff({
  record,
  changes,
  before,
  after,
}: {
  record: RecordView;
  changes: string[];
  before: RecordVersionContent;
  after: RecordVersionContent;
}) {
  const t = useT();
  const show = useShow();
  const kindOf = (f: string) => (RECORD_FORMS[record.type] ?? []).find((x) => x.name === f)?.kind;
  const rows = changes.map((f) =>
    f === 'sensitivity'
      ? {
          field: t('record.sensitivity'),
          was: t(`sensitivity.${before.sensitivity}`),
          now: t(`sensitivity.${after.sensitivity}`),
        }
      : {
          field: t(fieldLabel(record.type, f)),
          was: show(before.content[f], kindOf(f)),
          now: show(after.content[f], kindOf(f)),
        },
  );
  return (
    <Table
      items={rows}
      caption={t('record.diffOf', { n: after.version })}
      headers={[t('record.field'), t('record.before'), t('record.after')]}
      row={(x) => (
        <tr key={x.field}>
          <th scope="row">{x.field}</th>
          <td className="long">{x.was}</td>
          <td className="long">{x.now}</td>
        </tr>
      )}
    />
  );
}

function RecordContent({ record }: { record: RecordView }) {
  const t = useT();
  const show = useShow();
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
  const form = useForm<RecordFormValues>({
    sensitivity: record.sensitivity,
    fields: valuesOf(record.type, record.content),
  });
  return (
    <form
      noValidate
      className="stacked panel"
      onSubmit={form.onSubmit(async (v) => {
        await api('PUT', `/api/records/${record.id}`, {
          content: contentOf(record.type, v.fields),
          sensitivity: v.sensitivity,
          version: record.version,
        });
        notify(t('common.saved'));
        onDone();
      })}
    >
      <RecordFields type={record.type} form={form} restrictedAllowed={record.permissions.restrict} />
      <SaveOrCancel form={form} fields={['content', 'sensitivity']} onCancel={onCancel} />
    </form>
  );
}
