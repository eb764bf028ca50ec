// The infection hub's cases tab (issue 16): the department's case list with its filters (status,
// disease, reporting week, name or birth date), a page at a time; `/infection/cases/<recordId>` the
// case screen; `/infection/cases/new/<personId>` a new case from a person's file.
import { useState } from 'react';
import { api } from '../../api/client.ts';
import type { CaseListItem, PersonFileView } from '../../api/types.ts';
import { formatDate, useT } from '../../i18n/i18n.ts';
import { Link, navigate } from '../../router.tsx';
import { SaveOrCancel, SelectField, TextField, useForm, Checkbox } from '../../ui/form.tsx';
import { Loaded, useLoad } from '../../ui/load.tsx';
import { usePaged } from '../../ui/paged.ts';
import { Table } from '../../ui/table.tsx';
import { useNotify } from '../../ui/notice.tsx';
import { useDepartmentChoice } from '../../ui/department-choice.tsx';
import { CASE_FIELDS, CaseFields, STATUSES, caseContent, caseValues, statusLabel } from './cases-form.tsx';
import { CaseScreen } from './cases-case.tsx';

export function CasesScreen({ rest }: { rest: string }) {
  const newFor = /^new\/([^/]+)$/.exec(rest);
  if (newFor) return <NewCase personId={decodeURIComponent(newFor[1]!)} />;
  if (rest) return <CaseScreen key={rest} recordId={decodeURIComponent(rest)} />;
  return <CaseList />;
}

interface Filter {
  status: '' | (typeof STATUSES)[number];
  disease: string;
  week: string;
  q: string;
}

const query = (f: Filter) => {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(f)) if (v.trim()) p.set(k, v.trim());
  const s = p.toString();
  return s ? `?${s}` : '';
};

function CaseList() {
  const t = useT();
  const { departmentId, chooser } = useDepartmentChoice();
  const form = useForm<Filter>({ status: '', disease: '', week: '', q: '' });
  const [applied, setApplied] = useState<Filter>(form.values);
  const paged = usePaged<CaseListItem>(departmentId ? `/api/departments/${departmentId}/cases${query(applied)}` : null);
  if (!departmentId) return <p>{t('followUps.noDepartment')}</p>;
  return (
    <section aria-labelledby="cases-title">
      <h2 id="cases-title">{t('infection.tab.cases')}</h2>
      {chooser}
      <search aria-label={t('cases.filters')}>
        <form noValidate className="filters" onSubmit={form.onSubmit(async (v) => setApplied({ ...v }))}>
          <SelectField
            label={t('cases.filter.status')}
            value={form.values.status}
            onChange={(x) => form.set('status', x)}
            options={[
              { value: '' as const, label: t('cases.filter.any') },
              ...STATUSES.map((s) => ({ value: s, label: t(statusLabel(s)) })),
            ]}
          />
          <TextField
            label={t('cases.filter.disease')}
            value={form.values.disease}
            onChange={(x) => form.set('disease', x)}
          />
          <TextField label={t('cases.filter.week')} value={form.values.week} onChange={(x) => form.set('week', x)} />
          <TextField
            label={t('cases.filter.q')}
            type="search"
            value={form.values.q}
            onChange={(x) => form.set('q', x)}
          />
          <div className="actions">
            <button type="submit" className="primary">
              {t('cases.filter.apply')}
            </button>
          </div>
        </form>
      </search>
      <Loaded state={paged}>
        {(items) => (
          <>
            <Table
              items={items}
              none={t('cases.none')}
              caption={t('cases.listCaption')}
              headers={[
                t('cases.person'),
                t('person.birthDate'),
                t('cases.disease'),
                t('cases.status'),
                t('cases.category'),
                t('cases.notifiedOn'),
                t('cases.week'),
                t('cases.measuresUntil'),
              ]}
              row={(c) => (
                <tr key={c.recordId}>
                  <td>
                    <Link to={`/infection/cases/${c.recordId}`}>
                      {c.familyName}, {c.givenName}
                    </Link>
                    {c.sensitivity === 'restricted' && (
                      <>
                        {' '}
                        <span className="badge restricted">{t('sensitivity.restricted')}</span>
                      </>
                    )}
                  </td>
                  <td>{formatDate(c.birthDate)}</td>
                  <td>{c.disease.display ? `${c.disease.display} (${c.disease.code})` : c.disease.code}</td>
                  <td>{t(statusLabel(c.status))}</td>
                  <td>{c.category ?? '—'}</td>
                  <td>{formatDate(c.notifiedOn)}</td>
                  <td>{c.reportingWeek}</td>
                  <td>
                    {c.measuresUntil
                      ? formatDate(c.measuresUntil)
                      : c.openMeasures > 0
                        ? t('cases.measuresOpenEnd')
                        : '—'}
                  </td>
                </tr>
              )}
            />
            {paged.more && (
              <button type="button" disabled={paged.busy} onClick={() => void paged.loadMore()}>
                {t('cases.more')}
              </button>
            )}
          </>
        )}
      </Loaded>
    </section>
  );
}

/** A new case from a person's file: a record of type `ifsg-case` through the records API. */
function NewCase({ personId }: { personId: string }) {
  const person = useLoad(() => api<PersonFileView>('GET', `/api/persons/${personId}`), [personId]);
  return <Loaded state={person}>{(p) => <NewCaseForm person={p} />}</Loaded>;
}

function NewCaseForm({ person }: { person: PersonFileView }) {
  const t = useT();
  const notify = useNotify();
  const form = useForm(caseValues());
  const [restricted, setRestricted] = useState(false);
  return (
    <section aria-labelledby="new-case-title">
      <p>
        <Link to={`/persons/${person.id}`}>{t('record.backToFile')}</Link>
      </p>
      <h2 id="new-case-title">{t('cases.newFor', { name: `${person.familyName}, ${person.givenName}` })}</h2>
      <form
        noValidate
        className="stacked panel"
        onSubmit={form.onSubmit(async (v) => {
          const made = await api<{ id: string }>('POST', `/api/persons/${person.id}/records`, {
            type: 'ifsg-case',
            sensitivity: restricted ? 'restricted' : 'normal',
            content: caseContent(v),
          });
          notify(t('cases.created'));
          navigate(`/infection/cases/${made.id}`);
        })}
      >
        <CaseFields form={form} />
        {person.permissions.createRestrictedRecord && (
          <Checkbox label={t('cases.restricted')} checked={restricted} onChange={setRestricted} />
        )}
        <SaveOrCancel
          form={form}
          fields={CASE_FIELDS}
          submitLabel={t('cases.new')}
          onCancel={() => navigate(`/persons/${person.id}`)}
        />
      </form>
    </section>
  );
}
