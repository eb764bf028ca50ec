import { api } from '../../api/client.ts';
import type { Department } from '../../api/types.ts';
import { useT } from '../../i18n/i18n.ts';
import { useSession } from '../../session.tsx';
import { FormError, TextField, useForm } from '../../ui/form.tsx';
import { Loaded, useLoad } from '../../ui/load.tsx';
import { Table } from '../../ui/table.tsx';

export function Departments() {
  const t = useT();
  const { reload: reloadMe } = useSession();
  const list = useLoad(() => api<Department[]>('GET', '/api/admin/departments'), []);
  const form = useForm({ code: '', name: '' });
  return (
    <>
      <h2>{t('admin.departments')}</h2>
      <Loaded state={list}>
        {(ds) => (
          <Table
            items={ds}
            none={t('admin.noDepartments')}
            headers={[t('department.code'), t('department.name')]}
            row={(d) => (
              <tr key={d.id}>
                <td>{d.code}</td>
                <td>{d.name}</td>
              </tr>
            )}
          />
        )}
      </Loaded>
      <form
        noValidate
        className="stacked panel"
        aria-labelledby="new-department"
        onSubmit={form.onSubmit(async (v) => {
          await api('POST', '/api/admin/departments', v);
          form.reset({ code: '', name: '' });
          list.reload();
          await reloadMe();
        })}
      >
        <h3 id="new-department">{t('admin.newDepartment')}</h3>
        <TextField
          label={t('department.code')}
          value={form.values.code}
          onChange={(x) => form.set('code', x)}
          error={form.fieldError('code')}
          hint={t('department.codeHint')}
          required
        />
        <TextField
          label={t('department.name')}
          value={form.values.name}
          onChange={(x) => form.set('name', x)}
          error={form.fieldError('name')}
          required
        />
        <FormError form={form} fields={['code', 'name']} />
        <button type="submit" className="primary" disabled={form.busy}>
          {t('admin.createDepartment')}
        </button>
      </form>
    </>
  );
}
