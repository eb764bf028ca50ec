// What the inbox's screens share: the department whose inbox is shown (picked once if the user is in
// several, kept for the tab), its sub-navigation, the German names of DEMIS codes, and FHIR dates.
import { useState } from 'react';
import { DISEASE_CATEGORIES, PATHOGEN_CATEGORIES } from '../../../../src/demis/codec/code-systems.ts';
import { formatDate, formatDateTime, useT } from '../../i18n/i18n.ts';
import { Link } from '../../router.tsx';
import { departmentName, useSession } from '../../session.tsx';
import { SelectField } from '../../ui/form.tsx';

const KEY = 'kartei.inbox.department';

/** The inbox's department: the chosen one if the user is still in it, else the first. */
export function useInboxDepartment(): [string, (id: string) => void] {
  const { me } = useSession();
  const mine = [...new Set(me.memberships.map((m) => m.departmentId))];
  const [chosen, setChosen] = useState(() => sessionStorage.getItem(KEY) ?? '');
  const current = mine.includes(chosen) ? chosen : (mine[0] ?? '');
  return [
    current,
    (id: string) => {
      sessionStorage.setItem(KEY, id);
      setChosen(id);
    },
  ];
}

/** The department picker, shown only to someone in several departments. */
export function DepartmentPicker({ value, onChange }: { value: string; onChange: (id: string) => void }) {
  const t = useT();
  const { me } = useSession();
  const mine = [...new Set(me.memberships.map((m) => m.departmentId))];
  if (mine.length < 2) return null;
  return (
    <SelectField
      label={t('inbox.department')}
      value={value}
      onChange={onChange}
      options={mine.map((id) => ({ value: id, label: departmentName(me, id) }))}
    />
  );
}

export function InboxNav({ current }: { current: 'list' | 'quarantine' | 'upload' }) {
  const t = useT();
  const links = [
    { key: 'list', to: '/infection/inbox', label: t('inbox.nav.list') },
    { key: 'quarantine', to: '/infection/inbox/quarantine', label: t('inbox.nav.quarantine') },
    { key: 'upload', to: '/infection/inbox/upload', label: t('inbox.nav.upload') },
  ] as const;
  return (
    <nav aria-label={t('inbox.nav')} className="inbox-nav">
      {links.map((l) => (
        <Link key={l.key} to={l.to} className={l.key === current ? 'active' : undefined}>
          {l.label}
        </Link>
      ))}
    </nav>
  );
}

/** Every DEMIS notification category (pathogens of §7, diseases of §6) by code, with its German name. */
export const DEMIS_CODES: { code: string; name: string }[] = [
  ...Object.entries(PATHOGEN_CATEGORIES),
  ...Object.entries(DISEASE_CATEGORIES),
]
  .filter(([, c]) => !c.inactive)
  .map(([code, c]) => ({ code, name: c.name }))
  .sort((a, b) => a.name.localeCompare(b.name, 'de'));

/** A disease or pathogen as staff read it: the code list's German name, else the bundle's display, else the code. */
export function diseaseName(d: { code: string; display?: string }): string {
  return PATHOGEN_CATEGORIES[d.code]?.name ?? DISEASE_CATEGORIES[d.code]?.name ?? d.display ?? d.code;
}

/** A FHIR date as shown: 1975 stays a year, 1975-03 becomes 03.1975, a full date 14.03.1975, a time with it. */
export function fhirDate(v: string | undefined): string {
  if (!v) return '—';
  if (/^\d{4}$/.test(v)) return v;
  const ym = /^(\d{4})-(\d{2})$/.exec(v);
  if (ym) return `${ym[2]}.${ym[1]}`;
  if (/^\d{4}-\d{2}-\d{2}$/.test(v)) return formatDate(v);
  return Number.isNaN(Date.parse(v)) ? v : formatDateTime(v);
}
