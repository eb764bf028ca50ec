// Issue 17: a task's title, opening what the task is about — its record, the notification, the study in
// the viewer, or its document's preview (a new tab, like a letter just made). One component for the
// worklist and the file's tasks; a title the caller may not read opens nothing.
import type { Task } from '../../api/types.ts';
import { Link } from '../../router.tsx';
import { documentAddress } from './letters-shared.ts';

/** Where a task's link opens in the web application (a document: its preview's address). */
function taskLinkAddress(link: NonNullable<Task['link']>, personId: string | null): string {
  switch (link.kind) {
    case 'record':
      return `/records/${encodeURIComponent(link.id)}`;
    case 'notification':
      return `/infection/inbox/${encodeURIComponent(link.id)}`;
    case 'study':
      return personId
        ? `/persons/${encodeURIComponent(personId)}/studies/${encodeURIComponent(link.id)}`
        : `/studies/${encodeURIComponent(link.id)}`;
    case 'document':
      return documentAddress(link.id);
  }
}

export function TaskTitle({ task, title, readable }: { task: Task; title: string; readable: boolean }) {
  if (!task.link || !readable) return <>{title}</>;
  const to = taskLinkAddress(task.link, task.personId);
  if (task.link.kind === 'document')
    return (
      <a href={to} target="_blank" rel="noopener">
        {title}
      </a>
    );
  return <Link to={to}>{title}</Link>;
}
