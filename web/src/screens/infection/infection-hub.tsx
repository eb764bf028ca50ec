// Infection protection (issue 16): one place for the team's day — the DEMIS inbox, cases, contacts'
// follow-ups, outbreaks, the numbers, the §11 transmission — as tabs under /infection/…, each its
// own screen module. Shown to members of a department.
import { TabHub, type Tab } from '../../ui/tab-hub.tsx';
import { InboxScreen } from './inbox-screen.tsx';
import { CasesScreen } from './cases-screen.tsx';
import { FollowUpsScreen } from './follow-ups-screen.tsx';
import { OutbreaksScreen } from './outbreaks-screen.tsx';
import { NumbersScreen } from './numbers-screen.tsx';
import { TransmissionScreen } from './transmission-screen.tsx';

/** The tabs in the order of a day's work; `rest` is what follows the tab's path (an id, `new`…). */
const TABS: Tab[] = [
  { path: '/infection/inbox', label: 'infection.tab.inbox', screen: (rest) => <InboxScreen rest={rest} /> },
  { path: '/infection/cases', label: 'infection.tab.cases', screen: (rest) => <CasesScreen rest={rest} /> },
  {
    path: '/infection/follow-ups',
    label: 'infection.tab.followUps',
    screen: (rest) => <FollowUpsScreen rest={rest} />,
  },
  {
    path: '/infection/outbreaks',
    label: 'infection.tab.outbreaks',
    screen: (rest) => <OutbreaksScreen rest={rest} />,
  },
  { path: '/infection/numbers', label: 'infection.tab.numbers', screen: (rest) => <NumbersScreen rest={rest} /> },
  {
    path: '/infection/transmission',
    label: 'infection.tab.transmission',
    screen: (rest) => <TransmissionScreen rest={rest} />,
  },
];

export default function InfectionHub({ path }: { path: string }) {
  return <TabHub path={path} title="infection.title" tabsLabel="infection.tabs" tabs={TABS} />;
}
