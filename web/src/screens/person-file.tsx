// A person's file: the person, its records newest first a page at a time (title or
// first line, author, date; restricted ones marked and, for clerks, neither
// titled nor opened), a new record, and editing the person.
import { useEffect, useState, type ReactNode } from 'react';
import { api } from '../api/client.ts';
import type { PersonFileView, PersonMerges, RecordListItem, StudySummary } from '../api/types.ts';
import { formatDate, formatDateTime, useT } from '../i18n/i18n.ts';
import { Link, navigate } from '../router.tsx';
import { departmentName, useSession } from '../session.tsx';
import { SaveOrCancel, SelectField, useForm } from '../ui/form.tsx';
import { Loaded, useLoad } from '../ui/load.tsx';
import { usePaged, type Paged } from '../ui/paged.ts';
import { RecordFields, type RecordFormValues } from '../records/record-form.tsx';
import { RECORD_TYPES, contentOf, emptyValues, typeLabel } from '../records/record-fields.ts';
import { PersonFields, personBody, personValues } from './person-fields.tsx';
import { EmergencyBanner } from './emergency-access.tsx';
import { ShareFile } from './share-file.tsx';
import { useNotify } from '../ui/notice.tsx';
import { preloadViewer, withViewer } from '../viewer/load-viewer.ts';
import { isMergedAway, MergeAction, MergeBanner, MergedAway } from './person-merge-dialog.tsx';
// Issue 17: the desk — a file's tasks, its documents (attachments, letters) and making a letter.
import { FileTasks } from './desk/file-tasks.tsx';
import { FileDocuments } from './desk/file-documents.tsx';
import { NewLetter } from './desk/new-letter.tsx';

export function PersonFile({ personId }: { personId: string }) {
  const person = useLoad(() => api<PersonFileView>('GET', `/api/persons/${personId}`), [personId]);
  const records = usePaged<RecordListItem>(`/api/persons/${personId}/records`);
  const studies = useLoad(() => api<StudySummary[]>('GET', `/api/persons/${personId}/studies`), [personId]);
  // Issue 16: merges this file took part in (a pending one's banner) and the action to merge another into it.
  const merges = useLoad(() => api<PersonMerges>('GET', `/api/persons/${personId}/merges`), [personId]);
  const reloadAll = () => {
    person.reload();
    records.reload();
    studies.reload();
    merges.reload();
  };
  if (isMergedAway(person.error)) return <MergedAway error={person.error} personId={personId} onChanged={reloadAll} />;
  return (
    <Loaded state={person}>
      {(p) => (
        <>
          {p.emergencyAccess && <EmergencyBanner expiresAt={p.emergencyAccess.expiresAt} />}
          {merges.data && <MergeBanner personId={p.id} merges={merges.data} onChanged={reloadAll} />}
          <PersonHeader
            person={p}
            onSaved={person.reload}
            extra={
              merges.data && (
                <MergeAction
                  person={p}
                  merges={merges.data}
                  onMerged={(id) => (id === p.id ? reloadAll() : navigate(`/persons/${id}`))}
                />
              )
            }
          />
          <ShareFile person={p} />
          <Loaded state={records}>
            {(rs) => <Records person={p} records={rs} paged={records} onCreated={records.reload} />}
          </Loaded>
          {/* Issue 17: tasks — a record written here may make or cancel a task (its type's rules): shown anew. */}
          <FileTasks key={records.data?.map((r) => `${r.id}:${r.version}`).join(',') ?? ''} personId={p.id} />
          <FileDocuments personId={p.id} renderActions={(reload) => <NewLetter personId={p.id} onCreated={reload} />} />
          <Loaded state={studies}>{(ss) => <Studies personId={p.id} studies={ss} onChanged={studies.reload} />}</Loaded>
        </>
      )}
    </Loaded>
  );
}

function PersonHeader({ person, onSaved, extra }: { person: PersonFileView; onSaved: () => void; extra?: ReactNode }) {
  const t = useT();
  const { me } = useSession();
  const [editing, setEditing] = useState(false);
  const notify = useNotify();
  const form = useForm(personValues(person));
  const sex = person.sex ? t(`sex.${person.sex}`) : '—';
  const address = [person.address?.street, [person.address?.postalCode, person.address?.city].filter(Boolean).join(' ')]
    .filter(Boolean)
    .join(', ');
  return (
    <section aria-labelledby="person-title">
      <div className="heading-row">
        <h1 id="person-title">
          {person.familyName}, {person.givenName}
        </h1>
        {!editing && person.permissions.accessLog && (
          <Link to={`/audit/persons/${person.id}`} className="button">
            {t('report.fromFile')}
          </Link>
        )}
        {!editing && person.permissions.update && (
          <button type="button" onClick={() => setEditing(true)}>
            {t('person.edit')}
          </button>
        )}
        {!editing && extra}
      </div>
      {!editing ? (
        <dl className="facts">
          <dt>{t('person.birthDate')}</dt>
          <dd>{formatDate(person.birthDate)}</dd>
          <dt>{t('person.sex')}</dt>
          <dd>{sex}</dd>
          <dt>{t('person.address')}</dt>
          <dd>{address || '—'}</dd>
          <dt>{t('person.department')}</dt>
          <dd>{departmentName(me, person.departmentId)}</dd>
          {person.dicomPatientId && (
            <>
              <dt>{t('person.dicomPatientId')}</dt>
              <dd>{person.dicomPatientId}</dd>
            </>
          )}
        </dl>
      ) : (
        <form
          noValidate
          className="stacked"
          onSubmit={form.onSubmit(async (v) => {
            await api('PATCH', `/api/persons/${person.id}`, { ...personBody(v), version: person.version });
            notify(t('common.saved'));
            setEditing(false);
            onSaved();
          })}
        >
          <PersonFields form={form} />
          <SaveOrCancel
            form={form}
            fields={['familyName', 'givenName', 'birthDate', 'sex', 'address', 'dicomPatientId']}
            onCancel={() => setEditing(false)}
          />
        </form>
      )}
    </section>
  );
}

function Records({
  person,
  records,
  paged,
  onCreated,
}: {
  person: PersonFileView;
  records: RecordListItem[];
  paged: Paged<RecordListItem>;
  onCreated: () => void;
}) {
  const t = useT();
  const [adding, setAdding] = useState(false);
  // Restricted records this caller may not open are listed, not linked (the server would refuse them, and sends no title).
  const closed = !person.permissions.readRestricted;
  return (
    <section aria-labelledby="records-title">
      <div className="heading-row">
        <h2 id="records-title">{t('records.title')}</h2>
        {!adding && person.permissions.createRecord && (
          <button type="button" className="primary" onClick={() => setAdding(true)}>
            {t('records.new')}
          </button>
        )}
        {/* Issue 16: a case by hand, with the case form of the infection hub. */}
        {!adding && person.permissions.createRecord && (
          <Link to={`/infection/cases/new/${person.id}`} className="button">
            {t('cases.new')}
          </Link>
        )}
      </div>
      {adding && (
        <NewRecord
          personId={person.id}
          restrictedAllowed={person.permissions.createRestrictedRecord}
          onDone={() => {
            setAdding(false);
            onCreated();
          }}
          onCancel={() => setAdding(false)}
        />
      )}
      {records.length === 0 && <p>{t('records.none')}</p>}
      <ul className="records" aria-label={t('records.newestFirst')}>
        {records.map((r) => {
          const shut = r.sensitivity === 'restricted' && closed;
          const label = r.title ?? t(typeLabel(r.type));
          return (
            <li key={r.id}>
              <span className="record-when">{formatDateTime(r.createdAt)}</span>
              <span className="record-type">{t(typeLabel(r.type))}</span>
              {shut ? <span>{t('record.restrictedForClerks')}</span> : <Link to={`/records/${r.id}`}>{label}</Link>}
              {r.sensitivity === 'restricted' && (
                <span className="badge restricted">{t('sensitivity.restricted')}</span>
              )}
              <span className="hint">
                {t('records.by', { name: r.createdByName ?? '—' })}
                {r.version > 1 && (
                  <> · {t('records.changed', { name: r.updatedByName ?? '—', at: formatDateTime(r.updatedAt) })}</>
                )}
              </span>
            </li>
          );
        })}
      </ul>
      {paged.more && (
        <button type="button" disabled={paged.busy} onClick={() => void paged.loadMore()}>
          {t('records.more')}
        </button>
      )}
    </section>
  );
}

function NewRecord({
  personId,
  restrictedAllowed,
  onDone,
  onCancel,
}: {
  personId: string;
  restrictedAllowed: boolean;
  onDone: () => void;
  onCancel: () => void;
}) {
  const t = useT();
  const [type, setType] = useState(RECORD_TYPES[0]!);
  const form = useForm<RecordFormValues>({ sensitivity: 'normal', fields: emptyValues(type) });
  const notify = useNotify();
  return (
    <form
      noValidate
      className="stacked panel"
      aria-label={t('records.new')}
      onSubmit={form.onSubmit(async (v) => {
        await api('POST', `/api/persons/${personId}/records`, {
          type,
          sensitivity: v.sensitivity,
          content: contentOf(type, v.fields),
        });
        notify(t('records.created'));
        onDone();
      })}
    >
      <SelectField
        label={t('record.type')}
        value={type}
        onChange={(x) => {
          setType(x);
          form.set('fields', emptyValues(x));
        }}
        options={RECORD_TYPES.map((x) => ({ value: x, label: t(typeLabel(x)) }))}
      />
      <RecordFields type={type} form={form} restrictedAllowed={restrictedAllowed} />
      <SaveOrCancel form={form} fields={['content', 'sensitivity']} onCancel={onCancel} />
    </form>
  );
}

/** Opening a study: its first image starts loading with the click, not after the viewer's first answer. */
const openStudy = (s: StudySummary) => {
  const first = s.firstImage;
  if (first) withViewer((m) => m.prefetchFirstImage(s.studyUid, first));
};

function Studies({
  personId,
  studies,
  onChanged,
}: {
  personId: string;
  studies: StudySummary[];
  onChanged: () => void;
}) {
  const t = useT();
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    if (studies.length > 0) void preloadViewer();
  }, [studies.length]);
  // Taking a wrongly linked study off the file: it goes back to the department's unassigned studies.
  const unlink = async (s: StudySummary) => {
    const when = s.studyDate ? formatDate(s.studyDate) : t('studies.undated');
    if (!confirm(t('studies.unlinkConfirm', { date: when }))) return;
    setError(null);
    try {
      await api('DELETE', `/api/persons/${personId}/studies/${encodeURIComponent(s.studyUid)}`);
      onChanged();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <section aria-labelledby="studies-title">
      <h2 id="studies-title">{t('studies.title')}</h2>
      {error !== null && (
        <p role="alert" className="form-error">
          {t('studies.unlinkFailed')}
        </p>
      )}
      {studies.length === 0 ? (
        <p>{t('studies.none')}</p>
      ) : (
        <ul className="records">
          {studies.map((s) => (
            <li key={s.studyUid}>
              <Link
                to={`/persons/${personId}/studies/${encodeURIComponent(s.studyUid)}`}
                onNavigate={() => openStudy(s)}
              >
                {s.studyDate ? formatDate(s.studyDate) : t('studies.undated')} ·{' '}
                {s.description || s.modalities.join(', ')}
              </Link>
              <span className="hint">
                {t('studies.series', { n: s.seriesCount })}, {t('studies.images', { n: s.instanceCount })}
              </span>
              {s.unlink && (
                <button type="button" className="inline" onClick={() => void unlink(s)}>
                  {t('studies.unlink')}
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
