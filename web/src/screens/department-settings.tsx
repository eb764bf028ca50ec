// A head's rules for their departments: whether members who may not read the
// department's restricted records (clerks) see them listed at all.
import { api } from '../api/client.ts';
import { useT } from '../i18n/i18n.ts';
import { departmentName, useSession } from '../session.tsx';
import { FormError, SelectField, useForm } from '../ui/form.tsx';
import { Loaded, useLoad } from '../ui/load.tsx';
import { useNotify } from '../ui/notice.tsx';

type Listing = 'shown' | 'hidden';

export function DepartmentSettings() {
  const t = useT();
  const { me } = useSession();
  const headed = me.memberships.filter((m) => m.role === 'head');
  if (headed.length === 0) return null;
  return (
    <section className="panel" aria-labelledby="department-settings">
      <h2 id="department-settings">{t('deptSettings.title')}</h2>
      <p>{t('deptSettings.intro')}</p>
      {headed.map((m) => (
        <Listing key={m.departmentId} departmentId={m.departmentId} label={departmentName(me, m.departmentId)} />
      ))}
    </section>
  );
}

function Listing({ departmentId, label }: { departmentId: string; label: string }) {
  const current = useLoad(
    () => api<{ restrictedListing: Listing }>('GET', `/api/departments/${departmentId}/settings`),
    [departmentId],
  );
  return (
    <Loaded state={current}>
      {(s) => <ListingForm departmentId={departmentId} label={label} initial={s.restrictedListing} />}
    </Loaded>
  );
}

function ListingForm({ departmentId, label, initial }: { departmentId: string; label: string; initial: Listing }) {
  const t = useT();
  const form = useForm({ restrictedListing: initial });
  const notify = useNotify();
  return (
    <form
      noValidate
      className="stacked"
      onSubmit={form.onSubmit(async (v) => {
        await api('PUT', `/api/departments/${departmentId}/settings`, v);
        notify(t('deptSettings.saved'));
      })}
    >
      <SelectField
        label={label}
        value={form.values.restrictedListing}
        onChange={(v) => form.set('restrictedListing', v)}
        options={[
          { value: 'shown', label: t('deptSettings.shown') },
          { value: 'hidden', label: t('deptSettings.hidden') },
        ]}
      />
      <FormError form={form} fields={[]} />
      <button type="submit" disabled={form.busy}>
        {t('common.save')}
      </button>
    </form>
  );
}
