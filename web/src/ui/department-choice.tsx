// Which department a screen works for (issues 16 and 17: cases, follow-ups, the desk's worklist, mail-room,
// bulk letters and import): the user's first membership (with one of `roles`, if given), and one chooser
// "Abteilung" among them for whoever is a member of several; none: `departmentId` is null.
import { useState, type ReactNode } from 'react';
import { useT } from '../i18n/i18n.ts';
import { departmentName, useSession } from '../session.tsx';
import { SelectField } from './form.tsx';

export function useDepartmentChoice(roles?: readonly string[]): {
  departmentId: string | null;
  chooser: ReactNode;
} {
  const t = useT();
  const { me } = useSession();
  const ids = [...new Set(me.memberships.filter((m) => !roles || roles.includes(m.role)).map((m) => m.departmentId))];
  const [chosen, setChosen] = useState(ids[0] ?? null);
  const chooser =
    ids.length > 1 && chosen ? (
      <SelectField
        label={t('common.department')}
        value={chosen}
        onChange={setChosen}
        options={ids.map((d) => ({ value: d, label: departmentName(me, d) }))}
      />
    ) : null;
  return { departmentId: chosen, chooser };
}
