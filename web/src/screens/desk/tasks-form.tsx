// Issue 17: what the worklist and a file's task section share — the form of a new or changed task (title,
// due date with the date field, type, assignee among the department's members, note, a record of the file
// it concerns, restricted), and the actions on a task (done, cancel after asking, reopen) on its version.
import { useState } from 'react';
import { api, ApiError } from '../../api/client.ts';
import type { RecordListItem, Task, TaskAssignees } from '../../api/types.ts';
import { TASK_TYPES } from '../../../../src/contract/tasks.ts';
import { type MessageKey, useT } from '../../i18n/i18n.ts';
import { typeLabel } from '../../records/record-fields.ts';
import { DateField } from '../../ui/date-field.tsx';
import { Checkbox, SaveOrCancel, SelectField, TextField, useForm } from '../../ui/form.tsx';
import { useConfirm } from '../../ui/confirm.tsx';
import { useLoad } from '../../ui/load.tsx';
import { useNotify } from '../../ui/notice.tsx';
import { officeToday } from '../../i18n/office-day.ts';

export const taskTypeLabel = (type: string) => `tasks.type.${type}` as MessageKey;
export const taskStateLabel = (state: string) => `tasks.state.${state}` as MessageKey;

type TaskType = (typeof TASK_TYPES)[number];

/**
 * A new task (in a file, or for the department: `personId` null) or a change of `task`. The assignee is
 * one of the department's active members or the whole department; a file's task may concern one of its
 * records and be restricted.
 */
export function TaskForm({
  departmentId,
  personId,
  task,
  restrictedAllowed,
  onDone,
  onCancel,
}: {
  departmentId: string;
  personId: string | null;
  task?: Task;
  restrictedAllowed?: boolean;
  onDone: () => void;
  onCancel: () => void;
}) {
  const t = useT();
  const notify = useNotify();
  const assignees = useLoad(
    () => api<TaskAssignees>('GET', `/api/departments/${departmentId}/task-assignees`),
    [departmentId],
  );
  const records = useLoad(
    () => (personId ? api<RecordListItem[]>('GET', `/api/persons/${personId}/records?limit=100`) : Promise.resolve([])),
    [personId],
  );
  const form = useForm({
    title: task?.title ?? '',
    dueDate: task?.dueDate ?? officeToday(),
    type: (task?.type ?? 'other') as TaskType,
    assigneeId: task?.assigneeId ?? '',
    note: task?.note ?? '',
    recordId: task?.link?.kind === 'record' ? task.link.id : '',
    restricted: task?.sensitivity === 'restricted',
  });
  const v = form.values;
  const opt = ` ${t('form.optional')}`;
  const heading = task ? t('tasks.editTitle') : personId ? t('tasks.newInFile') : t('tasks.newFor');
  const linkOptions = [
    { value: '', label: t('tasks.noLink') },
    ...(records.data ?? []).map((r) => ({
      value: r.id,
      label: `${t(typeLabel(r.type))}: ${r.title ?? t('tasks.restrictedTitle')}`,
    })),
  ];
  // A link to a notification or a study (made elsewhere) is kept as it is.
  const keepsOtherLink = task?.link && task.link.kind !== 'record';
  return (
    <form
      noValidate
      className="stacked panel"
      aria-label={heading}
      onSubmit={form.onSubmit(async (x) => {
        const body = {
          title: x.title.trim(),
          dueDate: x.dueDate,
          type: x.type,
          assigneeId: x.assigneeId || null,
          note: x.note.trim() || null,
          ...(keepsOtherLink ? {} : personId ? { link: x.recordId ? { kind: 'record', id: x.recordId } : null } : {}),
          ...(personId && (restrictedAllowed || task) ? { sensitivity: x.restricted ? 'restricted' : 'normal' } : {}),
        };
        if (task) await api('PATCH', `/api/tasks/${task.id}`, { ...body, version: task.version });
        else if (personId) await api('POST', `/api/persons/${personId}/tasks`, body);
        else await api('POST', `/api/departments/${departmentId}/tasks`, body);
        notify(task ? t('tasks.saved') : t('tasks.created'));
        onDone();
      })}
    >
      <h3>{heading}</h3>
      <TextField
        label={t('tasks.field.title')}
        value={v.title}
        onChange={(x) => form.set('title', x)}
        error={form.fieldError('title')}
        required
      />
      <DateField
        label={t('tasks.field.dueDate')}
        value={v.dueDate}
        onChange={(x) => form.set('dueDate', x)}
        error={form.fieldError('dueDate')}
        required
      />
      <SelectField
        label={t('tasks.field.type')}
        value={v.type}
        onChange={(x) => form.set('type', x)}
        error={form.fieldError('type')}
        options={TASK_TYPES.map((x) => ({ value: x, label: t(taskTypeLabel(x)) }))}
      />
      <SelectField
        label={t('tasks.field.assignee')}
        value={v.assigneeId}
        onChange={(x) => form.set('assigneeId', x)}
        error={form.fieldError('assigneeId')}
        options={[
          { value: '', label: t('tasks.wholeDepartment') },
          ...(assignees.data?.items ?? []).map((a) => ({ value: a.id, label: a.displayName })),
          // The one assigned may have left the department since: still shown as chosen.
          ...(v.assigneeId && assignees.data && !assignees.data.items.some((a) => a.id === v.assigneeId)
            ? [{ value: v.assigneeId, label: task?.assigneeName ?? v.assigneeId }]
            : []),
        ]}
      />
      {personId && !keepsOtherLink && (
        <SelectField
          label={t('tasks.field.link') + opt}
          value={v.recordId}
          onChange={(x) => form.set('recordId', x)}
          error={form.fieldError('link')}
          options={linkOptions}
        />
      )}
      <TextField
        label={t('tasks.field.note') + opt}
        value={v.note}
        onChange={(x) => form.set('note', x)}
        error={form.fieldError('note')}
        multiline
      />
      {personId && restrictedAllowed && (
        <Checkbox
          label={t('tasks.field.restricted')}
          checked={v.restricted}
          onChange={(x) => form.set('restricted', x)}
        />
      )}
      <SaveOrCancel
        form={form}
        fields={['title', 'dueDate', 'type', 'assigneeId', 'link', 'note']}
        onCancel={onCancel}
        submitLabel={task ? t('common.save') : t('tasks.create')}
      />
    </form>
  );
}

/** Done, cancel (after asking) and reopen of a task, on its version; a refusal is shown, in German. */
export function useTaskActions(onChanged: () => void) {
  const t = useT();
  const notify = useNotify();
  const { ask, dialog } = useConfirm();
  const [error, setError] = useState<ApiError | null>(null);
  const change = async (task: Task, state: 'done' | 'cancelled' | 'open') => {
    if (state === 'cancelled') {
      const yes = await ask({
        title: t('tasks.cancelTitle', { title: task.title ?? t('tasks.restrictedTitle') }),
        text: t('tasks.cancelText'),
        confirm: t('tasks.cancel'),
      });
      if (!yes) return;
    }
    setError(null);
    try {
      await api('PATCH', `/api/tasks/${task.id}`, { version: task.version, state });
      notify(
        t(state === 'done' ? 'tasks.markedDone' : state === 'cancelled' ? 'tasks.markedCancelled' : 'tasks.reopened'),
      );
      onChanged();
    } catch (e) {
      if (e instanceof ApiError) setError(e);
      else throw e;
      onChanged();
    }
  };
  return { change, error, dialog };
}
