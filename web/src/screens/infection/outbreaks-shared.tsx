// What the outbreaks and numbers screens share (issue 16): settings and statuses, the period in
// words, the choice of a department for a member of several, and the fields of an outbreak.
import { useState } from 'react';
import type { OutbreakSetting } from '../../api/types.ts';
import { formatDate, useT } from '../../i18n/i18n.ts';
import { departmentName, useSession } from '../../session.tsx';
import { DateField } from '../../ui/date-field.tsx';
import { SelectField, TextField, type useForm } from '../../ui/form.tsx';

const SETTINGS: OutbreakSetting[] = [
  'school',
  'daycare',
  'nursing-home',
  'hospital-ward',
  'event',
  'household',
  'workplace',
  'community-facility',
  'other',
];
export const STATUSES = ['suspected', 'probable', 'confirmed', 'not-a-case'] as const;

type T = ReturnType<typeof useT>;
export const periodText = (t: T, o: { periodFrom: string; periodUntil: string | null }) =>
  o.periodUntil
    ? t('outbreaks.span', { first: formatDate(o.periodFrom), last: formatDate(o.periodUntil) })
    : t('outbreaks.periodOpen', { from: formatDate(o.periodFrom) });

/** The departments the user works in, and the one chosen (the first, until another is). */
export function useDepartmentChoice(): { departments: string[]; chosen: string; choose: (d: string) => void } {
  const { me } = useSession();
  const departments = [...new Set(me.memberships.map((m) => m.departmentId))];
  const [chosen, choose] = useState(departments[0] ?? '');
  return { departments, chosen, choose };
}

export function DepartmentChoice({ choice, label }: { choice: ReturnType<typeof useDepartmentChoice>; label: string }) {
  const { me } = useSession();
  if (choice.departments.length < 2) return null;
  return (
    <SelectField
      label={label}
      value={choice.chosen}
      onChange={choice.choose}
      options={choice.departments.map((d) => ({ value: d, label: departmentName(me, d) }))}
    />
  );
}

export interface OutbreakValues {
  name: string;
  description: string;
  setting: OutbreakSetting;
  periodFrom: string;
  periodUntil: string;
  state: 'open' | 'closed';
}

export const outbreakBody = (v: OutbreakValues) => ({
  name: v.name,
  description: v.description.trim() ? v.description : null,
  setting: v.setting,
  periodFrom: v.periodFrom,
  periodUntil: v.periodUntil.trim() ? v.periodUntil : null,
  state: v.state,
});

/** The fields of an outbreak, for the new one and for a change. */
export function OutbreakFields({
  form,
  withState,
}: {
  form: ReturnType<typeof useForm<OutbreakValues>>;
  withState?: boolean;
}) {
  const t = useT();
  return (
    <>
      <TextField
        label={t('outbreaks.name')}
        value={form.values.name}
        onChange={(x) => form.set('name', x)}
        hint={t('outbreaks.nameHint')}
        error={form.fieldError('name')}
        required
      />
      <SelectField
        label={t('outbreaks.setting')}
        value={form.values.setting}
        onChange={(x) => form.set('setting', x)}
        options={SETTINGS.map((s) => ({ value: s, label: t(`outbreaks.setting.${s}`) }))}
        error={form.fieldError('setting')}
      />
      <DateField
        label={t('outbreaks.periodFrom')}
        value={form.values.periodFrom}
        onChange={(x) => form.set('periodFrom', x)}
        error={form.fieldError('periodFrom')}
        required
      />
      <DateField
        label={t('outbreaks.periodUntil')}
        value={form.values.periodUntil}
        onChange={(x) => form.set('periodUntil', x)}
        error={form.fieldError('periodUntil')}
      />
      {withState && (
        <SelectField
          label={t('outbreaks.state')}
          value={form.values.state}
          onChange={(x) => form.set('state', x)}
          options={(['open', 'closed'] as const).map((s) => ({ value: s, label: t(`outbreaks.state.${s}`) }))}
          error={form.fieldError('state')}
        />
      )}
      <TextField
        label={t('outbreaks.description')}
        value={form.values.description}
        onChange={(x) => form.set('description', x)}
        error={form.fieldError('description')}
        multiline
      />
    </>
  );
}

export const OUTBREAK_FIELDS = ['name', 'setting', 'periodFrom', 'periodUntil', 'state', 'description'];
