// One outbreak (issue 16, `/infection/outbreaks/<id>`): its facts (changed on top of their version),
// its cases by status, its cases with the person's name, the dates of notification and onset, its
// timeline with a form for a new entry, and adding a case found by the person's name or birth date
// among the department's files (an update of the case record, as the server does it); the contact
// persons of its cases (outbreaks-contacts.tsx).
import { useEffect, useRef, useState } from 'react';
import { api, apiPage } from '../../api/client.ts';
import type { OutbreakView, PersonListItem, RecordListItem, RecordView } from '../../api/types.ts';
import { formatDate, useT } from '../../i18n/i18n.ts';
import { Link } from '../../router.tsx';
import { useConfirm } from '../../ui/confirm.tsx';
import { DateField } from '../../ui/date-field.tsx';
import { FormError, SaveOrCancel, TextField, useForm } from '../../ui/form.tsx';
import { Loaded, useLoad } from '../../ui/load.tsx';
import { useNotify } from '../../ui/notice.tsx';
import { Table } from '../../ui/table.tsx';
import {
  OUTBREAK_FIELDS,
  OutbreakFields,
  STATUSES,
  outbreakBody,
  periodText,
  type OutbreakValues,
} from './outbreaks-shared.tsx';
import { OutbreakContacts } from './outbreaks-contacts.tsx';
import { officeToday } from '../../i18n/office-day.ts';

type T = ReturnType<typeof useT>;
const span = (t: T, s: { first: string | null; last: string | null }) =>
  s.first && s.last ? t('outbreaks.span', { first: formatDate(s.first), last: formatDate(s.last) }) : '—';
const today = () => officeToday();

export function OutbreakDetail({ id }: { id: string }) {
  const t = useT();
  const view = useLoad(() => api<OutbreakView>('GET', `/api/outbreaks/${id}`), [id]);
  return (
    <>
      <p>
        <Link to="/infection/outbreaks">{t('outbreaks.back')}</Link>
      </p>
      <Loaded state={view}>{(o) => <Outbreak o={o} reload={view.reload} />}</Loaded>
    </>
  );
}

function Outbreak({ o, reload }: { o: OutbreakView; reload: () => void }) {
  const t = useT();
  const [editing, setEditing] = useState(false);
  return (
    <article aria-labelledby="outbreak-title">
      <h2 id="outbreak-title">{o.name}</h2>
      {editing ? (
        <EditOutbreak
          o={o}
          onDone={() => {
            setEditing(false);
            reload();
          }}
        />
      ) : (
        <>
          <dl className="facts">
            <dt>{t('outbreaks.setting')}</dt>
            <dd>{t(`outbreaks.setting.${o.setting}`)}</dd>
            <dt>{t('outbreaks.period')}</dt>
            <dd>{periodText(t, o)}</dd>
            <dt>{t('outbreaks.state')}</dt>
            <dd>{t(`outbreaks.state.${o.state}`)}</dd>
            <dt>{t('outbreaks.notified')}</dt>
            <dd>{span(t, o.notified)}</dd>
            <dt>{t('outbreaks.onset')}</dt>
            <dd>{span(t, o.onset)}</dd>
            {o.description && (
              <>
                <dt>{t('outbreaks.description')}</dt>
                <dd className="prewrap">{o.description}</dd>
              </>
            )}
          </dl>
          <button type="button" onClick={() => setEditing(true)}>
            {t('outbreaks.edit')}
          </button>
        </>
      )}
      <Counts o={o} />
      <Cases o={o} reload={reload} />
      <OutbreakContacts o={o} />
      <AddCase o={o} onAdded={reload} />
      <Timeline o={o} reload={reload} />
    </article>
  );
}

function EditOutbreak({ o, onDone }: { o: OutbreakView; onDone: () => void }) {
  const t = useT();
  const notify = useNotify();
  const form = useForm<OutbreakValues>({
    name: o.name,
    description: o.description ?? '',
    setting: o.setting,
    periodFrom: o.periodFrom,
    periodUntil: o.periodUntil ?? '',
    state: o.state,
  });
  return (
    <form
      noValidate
      className="stacked"
      aria-label={t('outbreaks.edit')}
      onSubmit={form.onSubmit(async (v) => {
        await api('PUT', `/api/outbreaks/${o.id}`, { ...outbreakBody(v), version: o.version });
        notify(t('outbreaks.saved'));
        onDone();
      })}
    >
      <OutbreakFields form={form} withState />
      <SaveOrCancel form={form} fields={OUTBREAK_FIELDS} onCancel={onDone} />
    </form>
  );
}

function Counts({ o }: { o: OutbreakView }) {
  const t = useT();
  return (
    <section aria-labelledby="outbreak-counts">
      <h3 id="outbreak-counts">{t('outbreaks.counts')}</h3>
      <table className="counts">
        <thead>
          <tr>
            {STATUSES.map((s) => (
              <th key={s} scope="col">
                {t(`outbreaks.status.${s}`)}
              </th>
            ))}
            <th scope="col">{t('outbreaks.total')}</th>
          </tr>
        </thead>
        <tbody>
          <tr>
            {STATUSES.map((s) => (
              <td key={s} className="number">
                {o.counts[s]}
              </td>
            ))}
            <td className="number">{o.cases}</td>
          </tr>
        </tbody>
      </table>
    </section>
  );
}

function Cases({ o, reload }: { o: OutbreakView; reload: () => void }) {
  const t = useT();
  const notify = useNotify();
  const confirm = useConfirm();
  const [error, setError] = useState<Error | null>(null);
  return (
    <section aria-labelledby="outbreak-cases">
      <h3 id="outbreak-cases">{t('outbreaks.caseList')}</h3>
      <Table
        items={o.caseList}
        none={t('outbreaks.noCases')}
        caption={t('outbreaks.caseList')}
        headers={[
          t('outbreaks.person'),
          t('person.birthDate'),
          t('outbreaks.disease'),
          t('outbreaks.caseStatus'),
          t('outbreaks.notified'),
          t('outbreaks.onset'),
          t('common.actions'),
        ]}
        row={(c) => {
          const name = `${c.familyName}, ${c.givenName}`;
          return (
            <tr key={c.id}>
              <th scope="row">
                <Link to={`/persons/${c.personId}`}>{name}</Link>
                {c.sensitivity === 'restricted' && <span className="hint"> ({t('outbreaks.restricted')})</span>}
              </th>
              <td>{formatDate(c.birthDate)}</td>
              <td>{c.disease.display ?? c.disease.code}</td>
              <td>{t(`outbreaks.status.${c.status}`)}</td>
              <td>{formatDate(c.notifiedOn)}</td>
              <td>{c.onset ? formatDate(c.onset) : '—'}</td>
              <td>
                <button
                  type="button"
                  onClick={async () => {
                    if (
                      !(await confirm.ask({
                        title: t('outbreaks.removeConfirm', { name }),
                        text: t('outbreaks.removeConfirmText'),
                        confirm: t('outbreaks.removeCase'),
                      }))
                    )
                      return;
                    setError(null);
                    try {
                      await api('DELETE', `/api/outbreaks/${o.id}/cases/${c.id}?caseVersion=${c.version}`);
                      notify(t('outbreaks.caseRemoved'));
                      reload();
                    } catch (e) {
                      setError(e instanceof Error ? e : new Error(String(e)));
                    }
                  }}
                >
                  {t('outbreaks.removeCase')}
                </button>
              </td>
            </tr>
          );
        }}
      />
      {o.casesNotListed > 0 && <p className="hint">{t('outbreaks.notListed', { n: o.casesNotListed })}</p>}
      <FormError form={{ error, fieldError: () => undefined }} fields={[]} />
      {confirm.dialog}
    </section>
  );
}

interface CaseChoice {
  id: string;
  version: number;
  disease: string;
  status: string;
  notifiedOn: string;
  outbreakId: string | null;
}

/** Finding a person of the outbreak's department, then one of their cases, and adding it. */
function AddCase({ o, onAdded }: { o: OutbreakView; onAdded: () => void }) {
  const t = useT();
  const notify = useNotify();
  const search = useForm({ q: '' });
  const [results, setResults] = useState<PersonListItem[] | null>(null);
  const [person, setPerson] = useState<PersonListItem | null>(null);
  const [cases, setCases] = useState<CaseChoice[] | null>(null);
  const add = useForm({});
  const casesTitle = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    if (cases) casesTitle.current?.focus();
  }, [cases]);
  const choose = async (p: PersonListItem) => {
    setPerson(p);
    setCases(null);
    const { items } = await apiPage<RecordListItem>(`/api/persons/${p.id}/records?limit=200`);
    const found = await Promise.all(
      items
        .filter((r) => r.type === 'ifsg-case')
        .map((r) => api<RecordView>('GET', `/api/records/${r.id}`).catch(() => null)),
    );
    setCases(
      found
        .filter((r): r is RecordView => r !== null)
        .map((r) => {
          const c = r.content as {
            disease: { code: string; display?: string };
            status: string;
            notifiedOn: string;
            outbreakId?: string;
          };
          return {
            id: r.id,
            version: r.version,
            disease: c.disease.display ?? c.disease.code,
            status: c.status,
            notifiedOn: c.notifiedOn,
            outbreakId: c.outbreakId ?? null,
          };
        }),
    );
  };
  return (
    <section className="panel" aria-labelledby="add-case-title">
      <h3 id="add-case-title">{t('outbreaks.addCase')}</h3>
      <search>
        <form
          className="inline-form"
          noValidate
          onSubmit={search.onSubmit(async ({ q }) => {
            const found = await api<PersonListItem[]>('GET', `/api/persons?q=${encodeURIComponent(q.trim())}`);
            setResults(found.filter((p) => p.departmentId === o.departmentId));
            setPerson(null);
            setCases(null);
          })}
        >
          <TextField
            label={t('outbreaks.searchPerson')}
            type="search"
            value={search.values.q}
            onChange={(v) => search.set('q', v)}
            hint={t('outbreaks.searchHint')}
            error={search.fieldError('q')}
          />
          <button type="submit" disabled={search.busy || search.values.q.trim().length < 2}>
            {t('persons.search')}
          </button>
        </form>
      </search>
      <FormError form={search} fields={['q']} />
      {results && results.length === 0 && <p role="status">{t('outbreaks.noPersons')}</p>}
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
                <button type="button" aria-pressed={person?.id === p.id} onClick={() => void choose(p)}>
                  {t('outbreaks.choose')}
                </button>
              </td>
            </tr>
          )}
        />
      )}
      {person && cases && (
        <>
          <h4 id="case-choice-title" tabIndex={-1} ref={casesTitle}>
            {t('outbreaks.casesOf', { name: `${person.familyName}, ${person.givenName}` })}
          </h4>
          <Table
            items={cases}
            none={t('outbreaks.noCaseOfPerson')}
            caption={t('outbreaks.casesOf', { name: `${person.familyName}, ${person.givenName}` })}
            headers={[t('outbreaks.disease'), t('outbreaks.caseStatus'), t('outbreaks.notified'), t('common.actions')]}
            row={(c) => (
              <tr key={c.id}>
                <td>{c.disease}</td>
                <td>{t(`outbreaks.status.${c.status as (typeof STATUSES)[number]}`)}</td>
                <td>{formatDate(c.notifiedOn)}</td>
                <td>
                  {c.outbreakId === o.id ? (
                    t('outbreaks.inThis')
                  ) : (
                    <button
                      type="button"
                      className="primary"
                      disabled={add.busy}
                      onClick={(e) =>
                        add.onSubmit(async () => {
                          await api('POST', `/api/outbreaks/${o.id}/cases`, { caseId: c.id, caseVersion: c.version });
                          notify(t('outbreaks.caseAdded'));
                          setCases(null);
                          setPerson(null);
                          setResults(null);
                          onAdded();
                        })(e)
                      }
                    >
                      {t('outbreaks.add')}
                    </button>
                  )}
                </td>
              </tr>
            )}
          />
          <FormError form={add} fields={[]} />
        </>
      )}
    </section>
  );
}

function Timeline({ o, reload }: { o: OutbreakView; reload: () => void }) {
  const t = useT();
  const notify = useNotify();
  const form = useForm({ day: today(), text: '' });
  return (
    <section aria-labelledby="outbreak-timeline">
      <h3 id="outbreak-timeline">{t('outbreaks.timeline')}</h3>
      {o.timeline.length === 0 ? (
        <p>{t('outbreaks.timelineNone')}</p>
      ) : (
        <ol className="timeline">
          {o.timeline.map((e) => (
            <li key={e.id}>
              <strong>{formatDate(e.day)}</strong>{' '}
              <span className="hint">{t('outbreaks.entryBy', { name: e.createdByName ?? '—' })}</span>
              <p className="prewrap">{e.text}</p>
            </li>
          ))}
        </ol>
      )}
      <form
        noValidate
        className="stacked"
        aria-label={t('outbreaks.addEntry')}
        onSubmit={form.onSubmit(async (v) => {
          await api('POST', `/api/outbreaks/${o.id}/timeline`, v);
          notify(t('outbreaks.entryAdded'));
          form.reset({ day: v.day, text: '' });
          reload();
        })}
      >
        <DateField
          label={t('outbreaks.entryDay')}
          value={form.values.day}
          onChange={(x) => form.set('day', x)}
          error={form.fieldError('day')}
          required
        />
        <TextField
          label={t('outbreaks.entryText')}
          value={form.values.text}
          onChange={(x) => form.set('text', x)}
          error={form.fieldError('text')}
          multiline
          required
        />
        <FormError form={form} fields={['day', 'text']} />
        <button type="submit" className="primary" disabled={form.busy}>
          {t('outbreaks.addEntry')}
        </button>
      </form>
    </section>
  );
}
