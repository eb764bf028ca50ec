// A new file in one of one's own departments.
import { api } from '../api/client.ts';
import { useT } from '../i18n/i18n.ts';
import { navigate } from '../router.tsx';
import { departmentName, useSession } from '../session.tsx';
import { FormError, SelectField, useForm } from '../ui/form.tsx';
import { PersonFields, personBody, personValues, type PersonValues } from './person-fields.tsx';

export function PersonNew() {
  const t = useT();
  const { me } = useSession();
  const departments = me.memberships.map((m) => m.departmentId);
  const form = useForm<PersonValues & { departmentId: string }>({
    ...personValues(),
    departmentId: departments[0] ?? '',
  });

  return (
    <section>
      <h1>{t('persons.new')}</h1>
      <form
        noValidate
        className="stacked"
        onSubmit={form.onSubmit(async (v) => {
          // An empty birth date is left out, so that the server answers "required", not "no date".
          const { birthDate, ...rest } = personBody(v);
          const { id } = await api<{ id: string }>('POST', '/api/persons', {
            departmentId: v.departmentId,
            ...rest,
            ...(birthDate.trim() ? { birthDate } : {}),
          });
          navigate(`/persons/${id}`);
        })}
      >
        <SelectField
          label={t('person.department')}
          value={form.values.departmentId}
          onChange={(x) => form.set('departmentId', x)}
          options={departments.map((id) => ({ value: id, label: departmentName(me, id) }))}
          error={form.fieldError('departmentId')}
        />
        <PersonFields form={form} />
        <FormError form={form} fields={['familyName', 'givenName', 'birthDate', 'sex', 'address', 'departmentId']} />
        <button type="submit" className="primary" disabled={form.busy}>
          {t('persons.create')}
        </button>
      </form>
    </section>
  );
}
