// One IfSG case (issue 16): its facts in German (the RKI case-definition category with its meaning,
// status, dates, notifier, hospitalisation, death), its measures (ordering and ending an isolation
// with its legal basis), linked notifications and studies, notes, versions and contact persons.
// Every change is a new version through PUT /api/records/:id with the version it builds on; a stale
// one is refused and explained, and what was typed stays.
import { useState } from 'react';
import { api, ApiError } from '../../api/client.ts';
import type { PersonFileView, RecordVersion, RecordView } from '../../api/types.ts';
import { formatDate, formatDateTime, useT } from '../../i18n/i18n.ts';
import { Link } from '../../router.tsx';
import { SaveOrCancel, SelectField, TextField, errorTitle, useForm } from '../../ui/form.tsx';
import { DateField } from '../../ui/date-field.tsx';
import { Loaded, useLoad } from '../../ui/load.tsx';
import { Table } from '../../ui/table.tsx';
import { useNotify } from '../../ui/notice.tsx';
import {
  CASE_FIELDS,
  CaseFields,
  MEASURE_KINDS,
  caseContent,
  caseField,
  caseValues,
  categoryLabel,
  measureLabel,
  statusLabel,
  today,
  type CaseContent,
  type Measure,
} from './cases-form.tsx';
import { CaseContacts } from './cases-contacts.tsx';

export function CaseScreen({ recordId }: { recordId: string }) {
  const t = useT();
  const record = useLoad(() => api<RecordView>('GET', `/api/records/${recordId}`), [recordId]);
  const versions = useLoad(() => api<RecordVersion[]>('GET', `/api/records/${recordId}/versions`), [recordId]);
  const reload = () => {
    record.reload();
    versions.reload();
  };
  if (record.error instanceof ApiError && record.error.status === 403)
    return (
      <p role="alert" className="form-error">
        {t('record.restrictedForClerks')}
      </p>
    );
  return (
    <Loaded state={record}>
      {(r) =>
        r.type !== 'ifsg-case' ? (
          <p role="alert" className="form-error">
            {t('error.notFoundOrHidden')}
          </p>
        ) : (
          <Case record={r} versions={versions} onChanged={reload} />
        )
      }
    </Loaded>
  );
}

function Case({
  record,
  versions,
  onChanged,
}: {
  record: RecordView;
  versions: { data: RecordVersion[] | undefined; error: unknown };
  onChanged: () => void;
}) {
  const t = useT();
  const c = record.content as unknown as CaseContent;
  const person = useLoad(() => api<PersonFileView>('GET', `/api/persons/${record.personId}`), [record.personId]);
  const [editing, setEditing] = useState(false);
  const disease = c.disease.display ? `${c.disease.display} (${c.disease.code})` : c.disease.code;
  const name = person.data ? `${person.data.familyName}, ${person.data.givenName}` : '…';
  return (
    <article aria-labelledby="case-title">
      <p>
        <Link to="/infection/cases">{t('cases.backToList')}</Link> ·{' '}
        <Link to={`/persons/${record.personId}`}>{t('cases.openFile')}</Link>
      </p>
      <div className="heading-row">
        <h2 id="case-title">{t('cases.title', { disease, name })}</h2>
        {record.sensitivity === 'restricted' && <span className="badge restricted">{t('sensitivity.restricted')}</span>}
        {!editing && record.permissions.update && (
          <button type="button" onClick={() => setEditing(true)}>
            {t('cases.edit')}
          </button>
        )}
      </div>
      {person.data && (
        <p>
          {t('person.birthDate')}: {formatDate(person.data.birthDate)}
        </p>
      )}
      {editing ? (
        <EditCase
          record={record}
          content={c}
          onDone={() => {
            setEditing(false);
            onChanged();
          }}
          onCancel={() => setEditing(false)}
        />
      ) : (
        <Facts content={c} />
      )}
      <Measures record={record} content={c} onChanged={onChanged} />
      <Links personId={record.personId} content={c} />
      <CaseContacts caseId={record.id} departmentId={person.data?.departmentId} />
      <h3>{t('cases.versions')}</h3>
      <Loaded state={versions}>
        {(vs) => (
          <ul className="versions">
            {vs.map((v) => (
              <li key={v.version}>
                {`${formatDateTime(v.createdAt)} — ${v.createdByName ?? '—'}: `}
                {v.version === 1
                  ? t('record.created')
                  : v.changes === null
                    ? t('record.changesHidden')
                    : t('record.changedFields', {
                        fields: v.changes
                          .map((f) => (f === 'sensitivity' ? t('record.sensitivity') : t(caseField(f))))
                          .join(', '),
                      })}{' '}
                {t('record.versionN', { n: v.version })}
              </li>
            ))}
          </ul>
        )}
      </Loaded>
    </article>
  );
}

function Facts({ content: c }: { content: CaseContent }) {
  const t = useT();
  const date = (d?: string) => (d ? formatDate(d) : '—');
  const yes = (b?: boolean, d?: string) => (b ? `${t('common.yes')}${d ? `, ${formatDate(d)}` : ''}` : t('common.no'));
  const rows: [string, string][] = [
    [t(caseField('disease')), c.disease.display ? `${c.disease.display} (${c.disease.code})` : c.disease.code],
    ...(c.pathogen ? [[t(caseField('pathogen')), c.pathogen.display ?? c.pathogen.code] as [string, string]] : []),
    [t(caseField('status')), t(statusLabel(c.status))],
    [t(caseField('category')), c.category ? t(categoryLabel(c.category)) : '—'],
    [t(caseField('notifiedOn')), date(c.notifiedOn)],
    [t(caseField('onset')), date(c.onset)],
    [t(caseField('diagnosedOn')), date(c.diagnosedOn)],
    [t(caseField('notifier')), c.notifier ?? '—'],
    [t(caseField('hospitalised')), yes(c.hospitalised, c.hospitalisedFrom)],
    [t(caseField('died')), yes(c.died, c.diedOn)],
    [t(caseField('notes')), c.notes ?? '—'],
  ];
  return (
    <section aria-labelledby="case-facts">
      <h3 id="case-facts">{t('cases.facts')}</h3>
      <dl className="facts content">
        {rows.map(([k, v]) => (
          <div key={k}>
            <dt>{k}</dt>
            <dd className="long">{v}</dd>
          </div>
        ))}
      </dl>
    </section>
  );
}

function EditCase({
  record,
  content,
  onDone,
  onCancel,
}: {
  record: RecordView;
  content: CaseContent;
  onDone: () => void;
  onCancel: () => void;
}) {
  const t = useT();
  const notify = useNotify();
  const form = useForm(caseValues(content));
  return (
    <form
      noValidate
      className="stacked panel"
      aria-label={t('cases.edit')}
      onSubmit={form.onSubmit(async (v) => {
        await api('PUT', `/api/records/${record.id}`, { content: caseContent(v, content), version: record.version });
        notify(t('common.saved'));
        onDone();
      })}
    >
      <CaseFields form={form} />
      <SaveOrCancel form={form} fields={CASE_FIELDS} onCancel={onCancel} />
    </form>
  );
}

/** A measure runs on `day` when it has begun and has not ended. */
const running = (m: Measure, day: string) => m.from <= day && (!m.until || m.until >= day);

function Measures({ record, content, onChanged }: { record: RecordView; content: CaseContent; onChanged: () => void }) {
  const t = useT();
  const notify = useNotify();
  const [adding, setAdding] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const measures = content.measures ?? [];
  const save = (next: Measure[]) =>
    api('PUT', `/api/records/${record.id}`, { content: { ...content, measures: next }, version: record.version });
  const end = async (i: number) => {
    setError(null);
    const day = today();
    try {
      await save(measures.map((m, j) => (j === i ? { ...m, until: [m.from, day].sort()[1]! } : m)));
      notify(t('cases.measures.ended'));
      onChanged();
    } catch (e) {
      if (e instanceof ApiError) setError(e);
      else throw e;
    }
  };
  return (
    <section aria-labelledby="case-measures">
      <div className="heading-row">
        <h3 id="case-measures">{t('cases.measures.title')}</h3>
        {!adding && record.permissions.update && (
          <button type="button" onClick={() => setAdding(true)}>
            {t('cases.measures.add')}
          </button>
        )}
      </div>
      {error && (
        <p role="alert" className="form-error">
          {error.code === 'stale-version' ? t('error.staleVersion') : errorTitle(t, error)}
        </p>
      )}
      <Table
        items={measures.map((m, i) => ({ m, i }))}
        none={t('cases.measures.none')}
        caption={t('cases.measures.caption')}
        headers={[
          t('cases.measures.kind'),
          t('cases.measures.from'),
          t('cases.measures.until'),
          t('cases.measures.legalBasis'),
          t('cases.measures.note'),
          t('common.actions'),
        ]}
        row={({ m, i }) => (
          <tr key={i}>
            <td>{t(measureLabel(m.kind))}</td>
            <td>{formatDate(m.from)}</td>
            <td>{m.until ? formatDate(m.until) : '—'}</td>
            <td>{m.legalBasis}</td>
            <td>{m.note ?? '—'}</td>
            <td>
              {running(m, today()) && record.permissions.update && (
                <button type="button" className="inline" onClick={() => void end(i)}>
                  {t('cases.measures.end')} <span className="visually-hidden">{t(measureLabel(m.kind))}</span>
                </button>
              )}
            </td>
          </tr>
        )}
      />
      {adding && (
        <AddMeasure
          onSave={async (m) => {
            await save([...measures, m]);
            notify(t('cases.measures.added'));
            setAdding(false);
            onChanged();
          }}
          onCancel={() => setAdding(false)}
        />
      )}
    </section>
  );
}

function AddMeasure({ onSave, onCancel }: { onSave: (m: Measure) => Promise<void>; onCancel: () => void }) {
  const t = useT();
  const form = useForm({
    kind: 'isolation' as Measure['kind'],
    from: today(),
    until: '',
    legalBasis: '§30 IfSG',
    note: '',
  });
  const v = form.values;
  const err = (f: string) => form.fieldError(`content.measures.${f}`) ?? undefined;
  const opt = ` ${t('form.optional')}`;
  return (
    <form
      noValidate
      className="stacked panel"
      aria-label={t('cases.measures.add')}
      onSubmit={form.onSubmit(async (x) =>
        onSave({
          kind: x.kind,
          from: x.from,
          ...(x.until.trim() ? { until: x.until } : {}),
          legalBasis: x.legalBasis,
          ...(x.note.trim() ? { note: x.note.trim() } : {}),
        }),
      )}
    >
      <SelectField
        label={t('cases.measures.kind')}
        value={v.kind}
        onChange={(x) => form.set('kind', x)}
        options={MEASURE_KINDS.map((k) => ({ value: k, label: t(measureLabel(k)) }))}
      />
      <DateField label={t('cases.measures.from')} value={v.from} onChange={(x) => form.set('from', x)} required />
      <DateField
        label={t('cases.measures.until') + opt}
        value={v.until}
        onChange={(x) => form.set('until', x)}
        error={form.fieldError('until')}
      />
      <TextField
        label={t('cases.measures.legalBasis')}
        value={v.legalBasis}
        onChange={(x) => form.set('legalBasis', x)}
        error={err('legalBasis')}
        required
      />
      <TextField label={t('cases.measures.note') + opt} value={v.note} onChange={(x) => form.set('note', x)} />
      <SaveOrCancel
        form={form}
        fields={['until', 'legalBasis']}
        onCancel={onCancel}
        submitLabel={t('cases.measures.add')}
      />
    </form>
  );
}

function Links({ personId, content: c }: { personId: string; content: CaseContent }) {
  const t = useT();
  const notifications = c.notificationIds ?? [];
  const studies = c.studyUids ?? [];
  return (
    <section aria-labelledby="case-links">
      <h3 id="case-links">{t('cases.links.title')}</h3>
      <dl className="facts">
        <dt>{t('cases.links.notifications')}</dt>
        <dd>
          {notifications.length === 0
            ? t('cases.links.none')
            : notifications.map((id, i) => (
                <span key={id}>
                  {i > 0 && ', '}
                  <Link to={`/infection/inbox/${id}`}>{t('cases.links.notification', { n: i + 1 })}</Link>
                </span>
              ))}
        </dd>
        <dt>{t('cases.links.studies')}</dt>
        <dd>
          {studies.length === 0
            ? t('cases.links.none')
            : studies.map((uid, i) => (
                <span key={uid}>
                  {i > 0 && ', '}
                  <Link to={`/persons/${personId}/studies/${encodeURIComponent(uid)}`}>
                    {t('cases.links.study', { uid })}
                  </Link>
                </span>
              ))}
        </dd>
      </dl>
    </section>
  );
}
