// Outbreaks (issue 16): the department's list with the cases by status, a form for a new one, and
// `/infection/outbreaks/<id>`, one outbreak (outbreaks-detail.tsx). Every member of the department
// does this work; a member of several departments chooses which one.
import { useState } from 'react';
import { api } from '../../api/client.ts';
import type { OutbreakListItem, OutbreakSetting } from '../../api/types.ts';
import { formatDate, useT } from '../../i18n/i18n.ts';
import { Link, navigate } from '../../router.tsx';
import { departmentName, useSession } from '../../session.tsx';
import { DateField } from '../../ui/date-field.tsx';
import { FormError, SelectField, TextField, useForm } from '../../ui/form.tsx';
import { Loaded, useLoad } from '../../ui/load.tsx';
import { useNotify } from '../../ui/notice.tsx';
import { Table } from '../../ui/table.tsx';
import { OutbreakDetail } from './outbreaks-detail.tsx';

export const SETTINGS: OutbreakSetting[] = [
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

export function OutbreaksScreen({ rest }: { rest: string }) {
  if (rest) return <OutbreakDetail key={rest} id={rest} />;
  return <OutbreakList />;
}

function OutbreakList() {
  const t = useT();
  const choice = useDepartmentChoice();
  const list = useLoad(
    () => api<{ items: OutbreakListItem[] }>('GET', `/api/departments/${choice.chosen}/outbreaks`),
    [choice.chosen],
  );
  const [creating, setCreating] = useState(false);
  return (
    <section aria-labelledby="outbreaks-title">
      <h2 id="outbreaks-title">{t('outbreaks.title')}</h2>
      <DepartmentChoice choice={choice} label={t('outbreaks.department')} />
      <Loaded state={list}>
        {({ items }) => (
          <Table
            items={items}
            none={t('outbreaks.none')}
            caption={t('outbreaks.title')}
            headers={[
              t('outbreaks.name'),
              t('outbreaks.setting'),
              t('outbreaks.period'),
              t('outbreaks.state'),
              ...STATUSES.map((s) => t(`outbreaks.status.${s}`)),
              t('outbreaks.total'),
            ]}
            row={(o) => (
              <tr key={o.id}>
                <th scope="row">
                  <Link to={`/infection/outbreaks/${o.id}`}>{o.name}</Link>
                </th>
                <td>{t(`outbreaks.setting.${o.setting}`)}</td>
                <td>{periodText(t, o)}</td>
                <td>{t(`outbreaks.state.${o.state}`)}</td>
                {STATUSES.map((s) => (
                  <td key={s} className="number">
                    {o.counts[s]}
                  </td>
                ))}
                <td className="number">{o.cases}</td>
              </tr>
            )}
          />
        )}
      </Loaded>
      {creating ? (
        <NewOutbreak departmentId={choice.chosen} onCancel={() => setCreating(false)} />
      ) : (
        <button type="button" className="primary" onClick={() => setCreating(true)}>
          {t('outbreaks.new')}
        </button>
      )}
    </section>
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

function NewOutbreak({ departmentId, onCancel }: { departmentId: string; onCancel: () => void }) {
  const t = useT();
  const { me } = useSession();
  const notify = useNotify();
  const form = useForm<OutbreakValues>({
    name: '',
    description: '',
    setting: 'school',
    periodFrom: new Date().toISOString().slice(0, 10),
    periodUntil: '',
    state: 'open',
  });
  return (
    <section className="panel" aria-labelledby="new-outbreak-title">
      <h3 id="new-outbreak-title">
        {t('outbreaks.new')} ({departmentName(me, departmentId)})
      </h3>
      <form
        noValidate
        className="stacked"
        onSubmit={form.onSubmit(async (v) => {
          const { id } = await api<{ id: string }>(
            'POST',
            `/api/departments/${departmentId}/outbreaks`,
            outbreakBody(v),
          );
          notify(t('outbreaks.created'));
          navigate(`/infection/outbreaks/${id}`);
        })}
      >
        <OutbreakFields form={form} />
        <FormError form={form} fields={OUTBREAK_FIELDS} />
        <div className="actions">
          <button type="submit" className="primary" disabled={form.busy}>
            {t('outbreaks.create')}
          </button>
          <button type="button" onClick={onCancel}>
            {t('common.cancel')}
          </button>
        </div>
      </form>
    </section>
  );
}
