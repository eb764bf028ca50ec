// A department's studies that no file claimed (no file with their Patient ID,
// or not exactly one with their name and birth date): what each DICOM header
// says, its images, and linking it to a file of the department by hand —
// search, choose, confirm — for the department's physicians and head.
import { useEffect, useRef, useState } from 'react';
import { api } from '../api/client.ts';
import type { PersonListItem, UnassignedStudy } from '../api/types.ts';
import { formatDate, useT } from '../i18n/i18n.ts';
import { Link } from '../router.tsx';
import { departmentName, linksStudies, useSession } from '../session.tsx';
import { FormError, TextField, useForm } from '../ui/form.tsx';
import { Loaded, useLoad } from '../ui/load.tsx';
import { Table } from '../ui/table.tsx';
import { withViewer } from '../viewer/load-viewer.ts';

type T = ReturnType<typeof useT>;

const headerName = (s: UnassignedStudy, t: T) =>
  [s.patient.familyName, s.patient.givenName].filter(Boolean).join(', ') || t('banner.noName');
const studyDate = (s: UnassignedStudy, t: T) => (s.studyDate ? formatDate(s.studyDate) : t('studies.undated'));
const studyWhat = (s: UnassignedStudy) => [s.description, s.modalities.join(', ')].filter(Boolean).join(' · ');

export function UnassignedStudies({ departmentId }: { departmentId: string }) {
  const t = useT();
  const { me } = useSession();
  const list = useLoad(
    () => api<UnassignedStudy[]>('GET', `/api/departments/${departmentId}/unassigned-studies`),
    [departmentId],
  );
  const [linking, setLinking] = useState<UnassignedStudy | null>(null);
  const [done, setDone] = useState<{ person: PersonListItem; study: UnassignedStudy } | null>(null);
  const others = linksStudies(me).filter((d) => d !== departmentId);
  return (
    <section>
      <h1>{t('unassigned.title')}</h1>
      <p>{t('unassigned.intro', { department: departmentName(me, departmentId) })}</p>
      {others.length > 0 && (
        <p>
          {t('unassigned.otherDepartments')}{' '}
          {others.map((d, i) => (
            <span key={d}>
              {i > 0 && ', '}
              <Link to={`/departments/${d}/unassigned-studies`}>{departmentName(me, d)}</Link>
            </span>
          ))}
        </p>
      )}
      {done && (
        <p role="status" className="banner success">
          {t('unassigned.linked', {
            date: studyDate(done.study, t),
            name: `${done.person.familyName}, ${done.person.givenName}`,
          })}{' '}
          <Link to={`/persons/${done.person.id}`}>{t('unassigned.openFile')}</Link>
        </p>
      )}
      <Loaded state={list}>
        {(items) => (
          <Table
            items={items}
            none={t('unassigned.none')}
            caption={t('unassigned.title')}
            headers={[
              t('unassigned.studyDate'),
              t('unassigned.headerName'),
              t('person.birthDate'),
              t('unassigned.patientId'),
              t('unassigned.study'),
              t('common.actions'),
            ]}
            row={(s) => (
              <tr key={s.studyUid}>
                <td>{studyDate(s, t)}</td>
                <td>{headerName(s, t)}</td>
                <td>{s.patient.birthDate ? formatDate(s.patient.birthDate) : '—'}</td>
                <td>{s.patient.patientId || '—'}</td>
                <td>
                  {studyWhat(s) || '—'}{' '}
                  <span className="hint">
                    {t('studies.series', { n: s.seriesCount })}, {t('studies.images', { n: s.instanceCount })}
                  </span>
                </td>
                <td className="actions">
                  <Link
                    to={`/studies/${encodeURIComponent(s.studyUid)}`}
                    onNavigate={() => {
                      const first = s.firstImage;
                      if (first) withViewer((m) => m.prefetchFirstImage(s.studyUid, first));
                    }}
                  >
                    {t('unassigned.view')}
                  </Link>{' '}
                  <button
                    type="button"
                    aria-expanded={linking?.studyUid === s.studyUid}
                    aria-controls="link-study"
                    onClick={() => {
                      setDone(null);
                      setLinking(s);
                    }}
                  >
                    {t('unassigned.link')}
                  </button>
                </td>
              </tr>
            )}
          />
        )}
      </Loaded>
      {linking && (
        <LinkStudy
          key={linking.studyUid}
          departmentId={departmentId}
          study={linking}
          onCancel={() => setLinking(null)}
          onLinked={(person) => {
            setDone({ person, study: linking });
            setLinking(null);
            list.reload();
          }}
        />
      )}
    </section>
  );
}

/** Finding the file (within the department only), choosing it, and confirming the link. */
function LinkStudy({
  departmentId,
  study,
  onCancel,
  onLinked,
}: {
  departmentId: string;
  study: UnassignedStudy;
  onCancel: () => void;
  onLinked: (p: PersonListItem) => void;
}) {
  const t = useT();
  const title = useRef<HTMLHeadingElement>(null);
  // The header's family name is where the search usually starts.
  const search = useForm({ q: study.patient.familyName.length >= 2 ? study.patient.familyName : '' });
  const [results, setResults] = useState<PersonListItem[] | null>(null);
  const [chosen, setChosen] = useState<PersonListItem | null>(null);
  const confirm = useForm({});
  useEffect(() => title.current?.focus(), []);
  const otherBirth = chosen && study.patient.birthDate && study.patient.birthDate !== chosen.birthDate;
  return (
    <section id="link-study" className="panel" aria-labelledby="link-study-title">
      <h2 id="link-study-title" tabIndex={-1} ref={title}>
        {t('unassigned.linkTitle', { date: studyDate(study, t), name: headerName(study, t) })}
      </h2>
      <search>
        <form
          className="inline-form"
          noValidate
          onSubmit={search.onSubmit(async ({ q }) => {
            const found = await api<PersonListItem[]>('GET', `/api/persons?q=${encodeURIComponent(q.trim())}`);
            setResults(found.filter((p) => p.departmentId === departmentId));
            setChosen(null);
          })}
        >
          <TextField
            label={t('unassigned.searchFile')}
            type="search"
            value={search.values.q}
            onChange={(v) => search.set('q', v)}
            hint={t('unassigned.searchHint')}
            error={search.fieldError('q')}
          />
          <button type="submit" className="primary" disabled={search.busy || search.values.q.trim().length < 2}>
            {t('persons.search')}
          </button>
        </form>
      </search>
      <FormError form={search} fields={['q']} />
      {results && results.length === 0 && <p role="status">{t('unassigned.noFiles')}</p>}
      {results && results.length > 0 && (
        <Table
          items={results}
          caption={t('persons.results', { n: results.length })}
          headers={[t('person.name'), t('person.birthDate'), t('common.actions')]}
          row={(p) => (
            <tr key={p.id}>
              <td>
                {p.familyName}, {p.givenName}
              </td>
              <td>{formatDate(p.birthDate)}</td>
              <td>
                <button type="button" aria-pressed={chosen?.id === p.id} onClick={() => setChosen(p)}>
                  {t('unassigned.choose')}
                </button>
              </td>
            </tr>
          )}
        />
      )}
      {chosen && (
        <form
          noValidate
          className="confirm"
          aria-label={t('unassigned.confirmLabel')}
          onSubmit={confirm.onSubmit(async () => {
            await api('POST', `/api/persons/${chosen.id}/studies/${encodeURIComponent(study.studyUid)}`);
            onLinked(chosen);
          })}
        >
          <p>
            {t('unassigned.confirm', {
              date: studyDate(study, t),
              what: studyWhat(study) || '—',
              name: `${chosen.familyName}, ${chosen.givenName}`,
              birth: formatDate(chosen.birthDate),
            })}
          </p>
          {otherBirth && (
            <p className="banner emergency">
              {t('unassigned.birthDiffers', {
                header: formatDate(study.patient.birthDate!),
                file: formatDate(chosen.birthDate),
              })}
            </p>
          )}
          <FormError form={confirm} fields={[]} />
          <div className="actions">
            <button type="submit" className="primary" disabled={confirm.busy}>
              {t('unassigned.confirmLink')}
            </button>
            <button type="button" onClick={() => setChosen(null)}>
              {t('common.cancel')}
            </button>
          </div>
        </form>
      )}
      <div className="actions">
        <button type="button" onClick={onCancel}>
          {t('unassigned.close')}
        </button>
      </div>
    </section>
  );
}
