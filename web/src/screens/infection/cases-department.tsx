// Which department's cases and follow-ups a screen shows (issue 16): the user's first membership,
// and a choice among them for whoever is a member of several.
import { useState, type ReactNode } from 'react';
import { useT } from '../../i18n/i18n.ts';
import { departmentName, useSession } from '../../session.tsx';
import { SelectField } from '../../ui/form.tsx';

export function useDepartmentChoice(): { departmentId: string | null; chooser: ReactNode } {
  const t = useT();
  const { me } = useSession();
  const ids = [...new Set(me.memberships.map((m) => m.departmentId))];
  const [chosen, setChosen] = useState(ids[0] ?? null);
  const chooser =
    ids.length > 1 && chosen ? (
      <SelectField
        label={t('cases.department')}
        value={chosen}
        onChange={setChosen}
        options={ids.map((d) => ({ value: d, label: departmentName(me, d) }))}
      />
    ) : null;
  return { departmentId: chosen, chooser };
}
