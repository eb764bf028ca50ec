// Issue 17: bulk letters ("Serienbriefe"): one template for a selection of the department's files — the
// contact persons of an outbreak, or files found by a search and ticked — made in the background by the
// server; `/desk/letters/<runId>` shows the run's progress (polled while it runs, the count announced
// politely) and its result per file with the document made.
import { useEffect, useState } from 'react';
import { api, apiPage } from '../../api/client.ts';
import type {
  LetterRunListItem,
  LetterRunView,
  OutbreakListItem,
  PersonListItem,
  UsableTemplate,
} from '../../api/types.ts';
import { formatDate, formatDateTime, useT, type MessageKey } from '../../i18n/i18n.ts';
import { Link, navigate } from '../../router.tsx';
import { Checkbox, FormError, SelectField, TextField, useForm } from '../../ui/form.tsx';
import { useDepartmentChoice } from '../../ui/department-choice.tsx';
import { Loaded, useLoad } from '../../ui/load.tsx';
import { Table } from '../../ui/table.tsx';
import { documentAddress } from './letters-shared.ts';

export function LetterRunsScreen({ rest }: { rest: string }) {
  return rest ? <RunView runId={rest} /> : <RunsHome />;
}

function RunsHome() {
  const t = useT();
  const { departmentId: department, chooser } = useDepartmentChoice();
  const runs = useLoad(
    () =>
      department
        ? api<{ items: LetterRunListItem[] }>('GET', `/api/departments/${department}/letter-runs`)
        : Promise.resolve({ items: [] }),
    [department],
  );
  if (!department) return <p>{t('letters.runs.noDepartment')}</p>;
  return (
    <>
      <h2>{t('letters.runs.title')}</h2>
      {chooser}
      <StartRun departmentId={department} />
      <h3>{t('letters.runs.earlier')}</h3>
      <Loaded state={runs}>
        {(r) => (
          <Table
            items={r.items}
            caption={t('letters.runs.earlier')}
            headers={[
              t('letters.template'),
              t('letters.runs.started'),
              t('letters.runs.progress'),
              t('letters.runs.state'),
            ]}
            none={t('letters.runs.none')}
            row={(run) => (
              <tr key={run.id}>
                <td>
                  <Link to={`/desk/letters/${run.id}`}>{run.templateName}</Link>
                </td>
                <td>{formatDateTime(run.createdAt)}</td>
                <td>{t('letters.runs.count', { done: run.done, failed: run.failed, total: run.total })}</td>
                <td>{t(`letters.runs.state.${run.state}`)}</td>
              </tr>
            )}
          />
        )}
      </Loaded>
    </>
  );
}

interface StartChoices {
  templates: UsableTemplate[];
  outbreaks: OutbreakListItem[];
}

function StartRun({ departmentId }: { departmentId: string }) {
  const state = useLoad<StartChoices>(async () => {
    const [templates, outbreaks] = await Promise.all([
      api<{ items: UsableTemplate[] }>('GET', `/api/departments/${departmentId}/letter-templates`),
      api<{ items: OutbreakListItem[] }>('GET', `/api/departments/${departmentId}/outbreaks`).catch(() => ({
        items: [],
      })),
    ]);
    return { templates: templates.items, outbreaks: outbreaks.items };
  }, [departmentId]);
  return (
    <Loaded state={state}>{(c) => <StartForm key={departmentId} departmentId={departmentId} choices={c} />}</Loaded>
  );
}

function StartForm({ departmentId, choices }: { departmentId: string; choices: StartChoices }) {
  const t = useT();
  const form = useForm({
    templateId: choices.templates[0]?.id ?? '',
    source: (choices.outbreaks.length > 0 ? 'outbreak' : 'persons') as 'outbreak' | 'persons',
    outbreakId: choices.outbreaks[0]?.id ?? '',
  });
  const [query, setQuery] = useState('');
  const [found, setFound] = useState<PersonListItem[]>([]);
  const [picked, setPicked] = useState<Set<string>>(new Set());
  const v = form.values;
  if (choices.templates.length === 0) return <p>{t('letters.noTemplates')}</p>;
  const search = async () => {
    if (query.trim().length < 2) return;
    const page = await apiPage<PersonListItem>(`/api/persons?q=${encodeURIComponent(query.trim())}`);
    setFound(page.items.filter((p) => p.departmentId === departmentId));
  };
  return (
    <form
      noValidate
      className="stacked panel"
      aria-labelledby="start-run"
      onSubmit={form.onSubmit(async (x) => {
        const { id } = await api<{ id: string }>('POST', `/api/departments/${departmentId}/letter-runs`, {
          templateId: x.templateId,
          ...(x.source === 'outbreak' ? { outbreakId: x.outbreakId } : { personIds: [...picked] }),
        });
        navigate(`/desk/letters/${id}`);
      })}
    >
      <h3 id="start-run">{t('letters.runs.start')}</h3>
      <SelectField
        label={t('letters.template')}
        value={v.templateId}
        onChange={(x) => form.set('templateId', x)}
        options={choices.templates.map((x) => ({ value: x.id, label: `${x.name} (${t(`letters.kind.${x.kind}`)})` }))}
        error={form.fieldError('templateId')}
      />
      <SelectField
        label={t('letters.runs.source')}
        value={v.source}
        onChange={(x) => form.set('source', x)}
        options={[
          { value: 'outbreak', label: t('letters.runs.source.outbreak') },
          { value: 'persons', label: t('letters.runs.source.persons') },
        ]}
      />
      {v.source === 'outbreak' ? (
        choices.outbreaks.length === 0 ? (
          <p>{t('letters.runs.noOutbreaks')}</p>
        ) : (
          <SelectField
            label={t('letters.runs.outbreak')}
            value={v.outbreakId}
            onChange={(x) => form.set('outbreakId', x)}
            options={choices.outbreaks.map((o) => ({ value: o.id, label: `${o.name} (${formatDate(o.periodFrom)})` }))}
            error={form.fieldError('outbreakId')}
          />
        )
      ) : (
        <fieldset>
          <legend>{t('letters.runs.persons')}</legend>
          <TextField label={t('letters.runs.search')} type="search" value={query} onChange={setQuery} />
          <button type="button" onClick={() => void search()}>
            {t('letters.runs.searchButton')}
          </button>
          {found.map((p) => (
            <Checkbox
              key={p.id}
              label={`${p.familyName}, ${p.givenName} (${formatDate(p.birthDate)})`}
              checked={picked.has(p.id)}
              onChange={(on) =>
                setPicked((s) => {
                  const next = new Set(s);
                  if (on) next.add(p.id);
                  else next.delete(p.id);
                  return next;
                })
              }
            />
          ))}
          <p aria-live="polite">{t('letters.runs.picked', { n: picked.size })}</p>
        </fieldset>
      )}
      <FormError form={form} fields={['templateId', 'outbreakId', 'personIds']} />
      <div className="actions">
        <button
          type="submit"
          className="primary"
          disabled={form.busy || (v.source === 'persons' ? picked.size === 0 : !v.outbreakId)}
        >
          {t('letters.runs.startButton')}
        </button>
      </div>
    </form>
  );
}

/** Why a file got no letter, in words: the refusal's error or field code as the dictionaries word it. */
function refusal(t: ReturnType<typeof useT>, code: string): string {
  for (const key of [`error.${code}`, `problem.field.${code}`] as MessageKey[]) if (t(key) !== key) return t(key);
  return code;
}

function RunView({ runId }: { runId: string }) {
  const t = useT();
  const run = useLoad(() => api<LetterRunView>('GET', `/api/letter-runs/${encodeURIComponent(runId)}`), [runId]);
  const running = run.data?.state === 'running';
  // While the run goes on, its progress is asked for again every second.
  useEffect(() => {
    if (!running) return;
    const timer = setTimeout(run.reload, 1_000);
    return () => clearTimeout(timer);
  });
  return (
    <>
      <p>
        <Link to="/desk/letters">{t('letters.runs.back')}</Link>
      </p>
      <Loaded state={run}>
        {(r) => (
          <>
            <h2>{t('letters.runs.one', { name: r.templateName })}</h2>
            <label htmlFor="run-progress">{t('letters.runs.progress')}</label>
            <progress id="run-progress" max={r.total} value={r.done + r.failed} />
            <p aria-live="polite" role="status">
              {t('letters.runs.count', { done: r.done, failed: r.failed, total: r.total })}
              {r.state === 'finished' ? ` – ${t('letters.runs.state.finished')}` : ''}
            </p>
            <Table
              items={r.items}
              caption={t('letters.runs.result')}
              headers={[t('letters.runs.person'), t('letters.runs.state'), t('letters.runs.document')]}
              row={(i) => (
                <tr key={i.personId}>
                  <td>
                    <Link to={`/persons/${i.personId}`}>
                      {i.familyName ? `${i.familyName}, ${i.givenName}` : t('letters.runs.unnamed')}
                    </Link>
                  </td>
                  <td>
                    {t(`letters.runs.item.${i.state}`)}
                    {i.error ? ` – ${refusal(t, i.error)}` : ''}
                  </td>
                  <td>
                    {i.documentId ? (
                      <a href={documentAddress(i.documentId, i.documentVersion)} target="_blank" rel="noopener">
                        {t('letters.runs.open')}
                      </a>
                    ) : (
                      '—'
                    )}
                  </td>
                </tr>
              )}
            />
          </>
        )}
      </Loaded>
    </>
  );
}
