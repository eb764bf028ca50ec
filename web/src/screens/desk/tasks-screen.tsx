// Issue 17: the desk's worklist of tasks and deadlines (Wiedervorlage) — the department's open tasks the
// user sees (their own and the whole department's; a head: all), in the sections Überfällig, Heute fällig
// and Demnächst by the office's day, filtered by type and assignee, a page at a time; each done, cancelled
// or edited from its row (buttons, or the keys E, S, B on a focused row), and "Neue Aufgabe" for the department.
import { type KeyboardEvent, useState } from 'react';
import { api } from '../../api/client.ts';
import type { TaskAssignees, Worklist, WorklistRow } from '../../api/types.ts';
import { TASK_SECTIONS, TASK_TYPES } from '../../../../src/contract/tasks.ts';
import { formatDate, useT } from '../../i18n/i18n.ts';
import { Link } from '../../router.tsx';
import { errorTitle, SelectField } from '../../ui/form.tsx';
import { Loaded, useLoad } from '../../ui/load.tsx';
import { useDepartmentChoice } from '../../ui/department-choice.tsx';
import { TaskForm, taskTypeLabel, useTaskActions } from './tasks-form.tsx';
import { TaskTitle } from './tasks-link.tsx';

const PAGE = 50;

export function TasksScreen(_: { rest: string }) {
  const t = useT();
  const { departmentId, chooser } = useDepartmentChoice();
  if (!departmentId) return <p>{t('tasks.noDepartment')}</p>;
  return (
    <section aria-labelledby="tasks-title">
      <h2 id="tasks-title">{t('tasks.title')}</h2>
      {chooser}
      <DepartmentWorklist key={departmentId} departmentId={departmentId} />
    </section>
  );
}

function DepartmentWorklist({ departmentId }: { departmentId: string }) {
  const t = useT();
  const [type, setType] = useState('');
  const [assignee, setAssignee] = useState('');
  const [adding, setAdding] = useState(false);
  const [editing, setEditing] = useState<WorklistRow | null>(null);
  const [extra, setExtra] = useState<{ items: WorklistRow[]; next: string | null } | null>(null);
  const query = (after?: string) =>
    new URLSearchParams({
      limit: String(PAGE),
      ...(type ? { type } : {}),
      ...(assignee ? { assignee } : {}),
      ...(after ? { after } : {}),
    }).toString();
  const firstPage = `/api/departments/${departmentId}/tasks?${query()}`;
  const first = useLoad(() => {
    setExtra(null);
    return api<Worklist>('GET', firstPage);
  }, [firstPage]);
  const members = useLoad(
    () => api<TaskAssignees>('GET', `/api/departments/${departmentId}/task-assignees`),
    [departmentId],
  );
  const reload = () => first.reload();
  const actions = useTaskActions(reload);
  const next = extra ? extra.next : first.data?.next;
  const more = async () => {
    if (!next) return;
    const page = await api<Worklist>('GET', `/api/departments/${departmentId}/tasks?${query(next)}`);
    setExtra((x) => ({ items: [...(x?.items ?? []), ...page.items], next: page.next }));
  };
  return (
    <>
      <div className="heading-row">
        <p className="hint">
          {first.data?.all ? t('tasks.scope.all') : t('tasks.scope.mine')} {t('tasks.keyboardHint')}
        </p>
        {!adding && (
          <button type="button" className="primary" onClick={() => setAdding(true)}>
            {t('tasks.new')}
          </button>
        )}
      </div>
      {adding && (
        <TaskForm
          departmentId={departmentId}
          personId={null}
          onDone={() => {
            setAdding(false);
            reload();
          }}
          onCancel={() => setAdding(false)}
        />
      )}
      <fieldset className="filters">
        <legend>{t('tasks.filters')}</legend>
        <SelectField
          label={t('tasks.filter.type')}
          value={type}
          onChange={setType}
          options={[
            { value: '', label: t('tasks.filter.anyType') },
            ...TASK_TYPES.map((x) => ({ value: x, label: t(taskTypeLabel(x)) })),
          ]}
        />
        <SelectField
          label={t('tasks.filter.assignee')}
          value={assignee}
          onChange={setAssignee}
          options={[
            { value: '', label: t('tasks.filter.anyone') },
            { value: 'me', label: t('tasks.filter.mine') },
            { value: 'department', label: t('tasks.filter.department') },
            ...(first.data?.all ? (members.data?.items ?? []) : []).map((m) => ({ value: m.id, label: m.displayName })),
          ]}
        />
      </fieldset>
      {actions.error && (
        <p role="alert" className="form-error">
          {actions.error.code === 'stale-version' ? t('error.staleVersion') : errorTitle(t, actions.error)}
        </p>
      )}
      {editing && (
        <TaskForm
          key={editing.id}
          departmentId={departmentId}
          personId={editing.personId}
          task={editing}
          onDone={() => {
            setEditing(null);
            reload();
          }}
          onCancel={() => setEditing(null)}
        />
      )}
      <Loaded state={first}>
        {(w) => {
          const items = [...w.items, ...(extra?.items ?? [])];
          return (
            <>
              {TASK_SECTIONS.map((section) => (
                <Section
                  key={section}
                  section={section}
                  count={w.counts[section]}
                  items={items.filter((i) => i.section === section)}
                  onDone={(x) => void actions.change(x, 'done')}
                  onCancel={(x) => void actions.change(x, 'cancelled')}
                  onEdit={setEditing}
                />
              ))}
              {next && (
                <button type="button" onClick={() => void more()}>
                  {t('tasks.more')}
                </button>
              )}
            </>
          );
        }}
      </Loaded>
      {actions.dialog}
    </>
  );
}

function Section({
  section,
  count,
  items,
  onDone,
  onCancel,
  onEdit,
}: {
  section: (typeof TASK_SECTIONS)[number];
  count: number;
  items: WorklistRow[];
  onDone: (t: WorklistRow) => void;
  onCancel: (t: WorklistRow) => void;
  onEdit: (t: WorklistRow) => void;
}) {
  const t = useT();
  const id = `tasks-${section}`;
  return (
    <section aria-labelledby={id} className={`tasks-section ${section}`}>
      <h3 id={id}>
        {t(`tasks.${section}`)} ({count})
      </h3>
      {items.length === 0 ? (
        <p>{t(`tasks.none.${section}`)}</p>
      ) : (
        <table>
          <caption className="visually-hidden">{t(`tasks.caption.${section}`)}</caption>
          <thead>
            <tr>
              <th scope="col">{t('tasks.col.due')}</th>
              <th scope="col">{t('tasks.col.task')}</th>
              <th scope="col">{t('tasks.col.person')}</th>
              <th scope="col">{t('tasks.col.type')}</th>
              <th scope="col">{t('tasks.col.assignee')}</th>
              <th scope="col">{t('common.actions')}</th>
            </tr>
          </thead>
          <tbody>
            {items.map((x) => (
              <Row key={x.id} x={x} onDone={onDone} onCancel={onCancel} onEdit={onEdit} />
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function Row({
  x,
  onDone,
  onCancel,
  onEdit,
}: {
  x: WorklistRow;
  onDone: (t: WorklistRow) => void;
  onCancel: (t: WorklistRow) => void;
  onEdit: (t: WorklistRow) => void;
}) {
  const t = useT();
  const title = x.title ?? t('tasks.restrictedTitle');
  const readable = x.title !== null;
  // E erledigt, S stornieren, B bearbeiten — on the focused row only, never while typing in a field.
  const keys = (e: KeyboardEvent<HTMLTableRowElement>) => {
    if (e.target !== e.currentTarget || e.altKey || e.ctrlKey || e.metaKey || !readable) return;
    const k = e.key.toLowerCase();
    if (k === 'e') onDone(x);
    else if (k === 's') onCancel(x);
    else if (k === 'b') onEdit(x);
    else return;
    e.preventDefault();
  };
  return (
    <tr tabIndex={0} onKeyDown={keys} aria-label={`${title}, ${formatDate(x.dueDate)}`}>
      <td>{formatDate(x.dueDate)}</td>
      <td>
        <TaskTitle task={x} title={title} readable={readable} />
        {x.source !== 'manual' && <span className="hint"> ({t('tasks.byRule')})</span>}
        {x.note && <span className="hint task-note"> — {x.note}</span>}
      </td>
      <td>
        {x.person && x.personId ? (
          <>
            <Link to={`/persons/${x.personId}`}>
              {x.person.familyName}, {x.person.givenName}
            </Link>{' '}
            <span className="hint">{formatDate(x.person.birthDate)}</span>
          </>
        ) : (
          t('tasks.departmentTask')
        )}
      </td>
      <td>{t(taskTypeLabel(x.type))}</td>
      <td>{x.assigneeName ?? t('tasks.wholeDepartment')}</td>
      <td>
        {readable && (
          <span className="row-actions">
            <button type="button" className="inline" onClick={() => onDone(x)}>
              {t('tasks.done')}
              <span className="visually-hidden"> {title}</span>
            </button>{' '}
            <button type="button" className="inline" onClick={() => onCancel(x)}>
              {t('tasks.cancel')}
              <span className="visually-hidden"> {title}</span>
            </button>{' '}
            <button type="button" className="inline" onClick={() => onEdit(x)}>
              {t('tasks.edit')}
              <span className="visually-hidden"> {title}</span>
            </button>
          </span>
        )}
      </td>
    </tr>
  );
}
