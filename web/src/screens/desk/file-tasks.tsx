// Issue 17: a file's tasks and deadlines in the person's file — open ones by due date, then closed ones
// with who closed them and when; "Neue Aufgabe" (due date, type, assignee among the department's members,
// optionally a record of the file it concerns), done, cancel, reopen and edit on the task's version.
// Not shown to whoever reads the file without being of its department (a share, an emergency access).
import { useState } from 'react';
import { api, ApiError } from '../../api/client.ts';
import type { FileTasks as FileTasksAnswer, Task } from '../../api/types.ts';
import { formatDate, formatDateTime, useT } from '../../i18n/i18n.ts';
import { errorTitle } from '../../ui/form.tsx';
import { Loaded, useLoad } from '../../ui/load.tsx';
import { TaskForm, taskStateLabel, taskTypeLabel, useTaskActions } from './tasks-form.tsx';
import { TaskTitle } from './tasks-link.tsx';

export function FileTasks({ personId }: { personId: string }) {
  const t = useT();
  const tasks = useLoad(() => api<FileTasksAnswer>('GET', `/api/persons/${personId}/tasks`), [personId]);
  const [adding, setAdding] = useState(false);
  const [editing, setEditing] = useState<Task | null>(null);
  const actions = useTaskActions(tasks.reload);
  // Tasks are the owning department's work: whoever reads the file through a share or an emergency access has none here.
  if (tasks.error instanceof ApiError && tasks.error.status === 403) return null;
  return (
    <section aria-labelledby="file-tasks-title">
      <div className="heading-row">
        <h2 id="file-tasks-title">{t('tasks.file.title')}</h2>
        {!adding && tasks.data?.create && (
          <button type="button" className="primary" onClick={() => setAdding(true)}>
            {t('tasks.new')}
          </button>
        )}
      </div>
      {actions.error && (
        <p role="alert" className="form-error">
          {actions.error.code === 'stale-version' ? t('error.staleVersion') : errorTitle(t, actions.error)}
        </p>
      )}
      <Loaded state={tasks}>
        {(d) => (
          <>
            {(adding || editing) && (
              <TaskForm
                key={editing?.id ?? 'new'}
                departmentId={d.departmentId}
                personId={personId}
                task={editing ?? undefined}
                restrictedAllowed={d.createRestricted}
                onDone={() => {
                  setAdding(false);
                  setEditing(null);
                  tasks.reload();
                }}
                onCancel={() => {
                  setAdding(false);
                  setEditing(null);
                }}
              />
            )}
            {d.items.length === 0 ? (
              <p>{t('tasks.file.none')}</p>
            ) : (
              <table>
                <caption className="visually-hidden">{t('tasks.file.caption')}</caption>
                <thead>
                  <tr>
                    <th scope="col">{t('tasks.col.due')}</th>
                    <th scope="col">{t('tasks.col.task')}</th>
                    <th scope="col">{t('tasks.col.type')}</th>
                    <th scope="col">{t('tasks.col.assignee')}</th>
                    <th scope="col">{t('tasks.col.state')}</th>
                    <th scope="col">{t('common.actions')}</th>
                  </tr>
                </thead>
                <tbody>
                  {d.items.map((x) => {
                    const title = x.title ?? t('tasks.restrictedTitle');
                    const readable = x.title !== null;
                    return (
                      <tr key={x.id} className={x.state !== 'open' ? 'closed' : x.section}>
                        <td>{formatDate(x.dueDate)}</td>
                        <td>
                          <TaskTitle task={x} title={title} readable={readable} />
                          {x.sensitivity === 'restricted' && (
                            <span className="badge restricted">{t('sensitivity.restricted')}</span>
                          )}
                          {x.source !== 'manual' && <span className="hint"> ({t('tasks.byRule')})</span>}
                          {x.note && <span className="hint task-note"> — {x.note}</span>}
                        </td>
                        <td>{t(taskTypeLabel(x.type))}</td>
                        <td>{x.assigneeName ?? t('tasks.wholeDepartment')}</td>
                        <td>
                          {x.state === 'open' || !x.closedAt
                            ? t(taskStateLabel(x.state))
                            : t('tasks.closedBy', {
                                state: t(taskStateLabel(x.state)),
                                date: formatDateTime(x.closedAt),
                                name: x.closedByName ?? '—',
                              })}
                        </td>
                        <td>
                          {readable && x.state === 'open' && (
                            <span className="row-actions">
                              <button type="button" className="inline" onClick={() => void actions.change(x, 'done')}>
                                {t('tasks.done')}
                                <span className="visually-hidden"> {title}</span>
                              </button>{' '}
                              <button
                                type="button"
                                className="inline"
                                onClick={() => void actions.change(x, 'cancelled')}
                              >
                                {t('tasks.cancel')}
                                <span className="visually-hidden"> {title}</span>
                              </button>{' '}
                              <button
                                type="button"
                                className="inline"
                                onClick={() => {
                                  setAdding(false);
                                  setEditing(x);
                                }}
                              >
                                {t('tasks.edit')}
                                <span className="visually-hidden"> {title}</span>
                              </button>
                            </span>
                          )}
                          {readable && x.state !== 'open' && (
                            <button type="button" className="inline" onClick={() => void actions.change(x, 'open')}>
                              {t('tasks.reopen')}
                              <span className="visually-hidden"> {title}</span>
                            </button>
                          )}
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            )}
          </>
        )}
      </Loaded>
      {actions.dialog}
    </section>
  );
}
