// Outbreaks (issue 16): the department's list with the cases by status, a form for a new one, and
// `/infection/outbreaks/<id>`, one outbreak (outbreaks-detail.tsx). Every member of the department
// does this work; a member of several departments chooses which one.
import { useState } from 'react';
import { api } from '../../api/client.ts';
import type { OutbreakListItem } from '../../api/types.ts';
import { useT } from '../../i18n/i18n.ts';
import { Link, navigate } from '../../router.tsx';
import { departmentName, useSession } from '../../session.tsx';
import { FormError, useForm } from '../../ui/form.tsx';
import { Loaded, useLoad } from '../../ui/load.tsx';
import { useNotify } from '../../ui/notice.tsx';
import { Table } from '../../ui/table.tsx';
import { OutbreakDetail } from './outbreaks-detail.tsx';
import {
  DepartmentChoice,
  OUTBREAK_FIELDS,
  OutbreakFields,
  STATUSES,
  outbreakBody,
  periodText,
  useDepartmentChoice,
  type OutbreakValues,
} from './outbreaks-shared.tsx';
import { officeToday } from '../../i18n/office-day.ts';

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

function NewOutbreak({ departmentId, onCancel }: { departmentId: string; onCancel: () => void }) {
  const t = useT();
  const { me } = useSession();
  const notify = useNotify();
  const form = useForm<OutbreakValues>({
    name: '',
    description: '',
    setting: 'school',
    periodFrom: officeToday(),
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
