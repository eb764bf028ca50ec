// Infection protection (issue 16): one place for the team's day — the DEMIS inbox, cases, contacts'
// follow-ups, outbreaks, the numbers, the §11 transmission — as tabs under /infection/…, each its
// own screen module. Shown to members of a department.
import type { ReactNode } from 'react';
import type { MessageKey } from '../../i18n/i18n.ts';
import { useT } from '../../i18n/i18n.ts';
import { Link } from '../../router.tsx';
import { InboxScreen } from './inbox-screen.tsx';
import { CasesScreen } from './cases-screen.tsx';
import { FollowUpsScreen } from './follow-ups-screen.tsx';
import { OutbreaksScreen } from './outbreaks-screen.tsx';
import { NumbersScreen } from './numbers-screen.tsx';
import { TransmissionScreen } from './transmission-screen.tsx';

interface Tab {
  path: string;
  label: MessageKey;
  screen: (rest: string) => ReactNode;
}

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
  const t = useT();
  const tab = TABS.find((x) => path === x.path || path.startsWith(`${x.path}/`)) ?? TABS[0]!;
  const rest = path.slice(tab.path.length).replace(/^\//, '');
  return (
    <section>
      <h1>{t('infection.title')}</h1>
      <nav aria-label={t('infection.tabs')} className="tabs">
        {TABS.map((x) => (
          <Link key={x.path} to={x.path} className={x === tab ? 'active' : undefined}>
            {t(x.label)}
          </Link>
        ))}
      </nav>
      {tab.screen(rest)}
    </section>
  );
}
