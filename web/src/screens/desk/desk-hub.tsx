// The desk (issue 17): one place for the office's paperwork — the worklist of tasks and deadlines,
// the mail-room of scans not yet in a file, bulk letters, and importing an office's existing data —
// as tabs under /desk/…, each its own screen module. Shown to members of a department.
import { TabHub, type Tab } from '../../ui/tab-hub.tsx';
import { TasksScreen } from './tasks-screen.tsx';
import { MailroomScreen } from './mailroom-screen.tsx';
import { LetterRunsScreen } from './letter-runs.tsx';
import { ImportScreen } from './import-screen.tsx';

/** The tabs in the order of a day's work; `rest` is what follows the tab's path (an id, `new`…). */
const TABS: Tab[] = [
  { path: '/desk/tasks', label: 'desk.tab.tasks', screen: (rest) => <TasksScreen rest={rest} /> },
  { path: '/desk/mailroom', label: 'desk.tab.mailroom', screen: (rest) => <MailroomScreen rest={rest} /> },
  { path: '/desk/letters', label: 'desk.tab.letters', screen: (rest) => <LetterRunsScreen rest={rest} /> },
  { path: '/desk/import', label: 'desk.tab.import', screen: (rest) => <ImportScreen rest={rest} /> },
];

export default function DeskHub({ path }: { path: string }) {
  return <TabHub path={path} title="desk.title" tabsLabel="desk.tabs" tabs={TABS} />;
}
