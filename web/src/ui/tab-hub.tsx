// A screen of tabs under one path (/infection/…, /desk/…): a heading, the tabs as links, and the chosen tab's
// screen, which gets `rest` — what follows the tab's path (an id, `new`…). An unknown path shows the first tab.
import type { ReactNode } from 'react';
import type { MessageKey } from '../i18n/i18n.ts';
import { useT } from '../i18n/i18n.ts';
import { Link } from '../router.tsx';

export interface Tab {
  path: string;
  label: MessageKey;
  screen: (rest: string) => ReactNode;
}

export function TabHub({
  path,
  title,
  tabsLabel,
  tabs,
}: {
  path: string;
  title: MessageKey;
  tabsLabel: MessageKey;
  tabs: Tab[];
}) {
  const t = useT();
  const tab = tabs.find((x) => path === x.path || path.startsWith(`${x.path}/`)) ?? tabs[0]!;
  const rest = path.slice(tab.path.length).replace(/^\//, '');
  return (
    <section>
      <h1>{t(title)}</h1>
      <nav aria-label={t(tabsLabel)} className="tabs">
        {tabs.map((x) => (
          <Link key={x.path} to={x.path} className={x === tab ? 'active' : undefined}>
            {t(x.label)}
          </Link>
        ))}
      </nav>
      {tab.screen(rest)}
    </section>
  );
}
