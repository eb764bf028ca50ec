// Users: create with roles and memberships, change access, deactivate, reset
// the second factor. The server refuses an administrator changing its own access.
import { useState } from 'react';
import { api } from '../../api/client.ts';
import type { Department, DepartmentRole, Membership, TenantRole, UserView } from '../../api/types.ts';
import { useT } from '../../i18n/i18n.ts';
import { departmentName, useSession } from '../../session.tsx';
import { Checkbox, FormError, SelectField, TextField, useForm, type FormState } from '../../ui/form.tsx';
import { Loaded, useLoad } from '../../ui/load.tsx';
import { NewPasswordField } from '../../ui/password-field.tsx';
import { Table } from '../../ui/table.tsx';

interface Access {
  tenantRoles: TenantRole[];
  /** department id → role, or '' for no membership */
  roles: Record<string, DepartmentRole | ''>;
}

const membershipsOf = (a: Access): Membership[] =>
  Object.entries(a.roles)
    .filter(([, role]) => role !== '')
    .map(([departmentId, role]) => ({ departmentId, role: role as DepartmentRole }));

const accessOf = (u?: UserView): Access => ({
  tenantRoles: u?.tenantRoles ?? [],
  roles: Object.fromEntries((u?.memberships ?? []).map((m) => [m.departmentId, m.role])),
});

export function Users() {
  const t = useT();
  const list = useLoad(() => api<UserView[]>('GET', '/api/admin/users'), []);
  const [editing, setEditing] = useState<string | null>(null);
  return (
    <>
      <h2>{t('admin.users')}</h2>
      <Loaded state={list}>
        {(users) => (
          <Table
            items={users}
            headers={[t('user.displayName'), t('user.username'), t('user.access'), t('user.status'), t('common.actions')]}
            row={(u) => <UserRow key={u.id} user={u} editing={editing === u.id} onEdit={() => setEditing(editing === u.id ? null : u.id)} onChanged={list.reload} />}
          />
        )}
      </Loaded>
      <NewUser onCreated={list.reload} />
    </>
  );
}

function UserRow({ user, editing, onEdit, onChanged }: { user: UserView; editing: boolean; onEdit: () => void; onChanged: () => void }) {
  const t = useT();
  const { me } = useSession();
  const form = useForm(accessOf(user));
  const act = useForm({});
  const access = [...user.tenantRoles.map((r) => t(`tenantRole.${r}`)), ...user.memberships.map((m) => `${departmentName(me, m.departmentId)}: ${t(`role.${m.role}`)}`)];
  return (
    <>
      <tr>
        <td>{user.displayName}</td>
        <td>{user.username}</td>
        <td>{access.join('; ') || '—'}</td>
        <td>
          {user.active ? t('user.active') : t('user.inactive')}
          {user.active && !user.mfaEnrolled && ` · ${t('user.mfaPending')}`}
        </td>
        <td>
          <form className="row-actions" noValidate onSubmit={(e) => e.preventDefault()} aria-label={t('user.actionsFor', { name: user.displayName })}>
            <button type="button" onClick={onEdit} aria-expanded={editing}>
              {t('user.editAccess')}
            </button>
            <button type="button" onClick={act.onSubmit(async () => (await api('PATCH', `/api/admin/users/${user.id}`, { active: !user.active }), onChanged()))}>
              {user.active ? t('user.deactivate') : t('user.activate')}
            </button>
            <button type="button" onClick={act.onSubmit(async () => (await api('POST', `/api/admin/users/${user.id}/reset-mfa`), onChanged()))}>
              {t('user.resetMfa')}
            </button>
            <FormError form={act} fields={[]} />
          </form>
        </td>
      </tr>
      {editing && (
        <tr>
          <td colSpan={5}>
            <form
              noValidate
              className="stacked panel"
              aria-label={t('user.editAccess')}
              onSubmit={form.onSubmit(async (v) => {
                await api('PATCH', `/api/admin/users/${user.id}`, { tenantRoles: v.tenantRoles, memberships: membershipsOf(v) });
                onEdit();
                onChanged();
              })}
            >
              <AccessFields form={form} departments={me.departments} />
              <FormError form={form} fields={['tenantRoles', 'memberships']} />
              <button type="submit" className="primary" disabled={form.busy}>
                {t('common.save')}
              </button>
            </form>
          </td>
        </tr>
      )}
    </>
  );
}

function AccessFields({ form, departments }: { form: Pick<FormState<Access>, 'values' | 'set'>; departments: Department[] }) {
  const t = useT();
  const { tenantRoles, roles } = form.values;
  const toggle = (r: TenantRole, on: boolean) => form.set('tenantRoles', on ? [...tenantRoles, r] : tenantRoles.filter((x) => x !== r));
  return (
    <>
      <fieldset>
        <legend>{t('user.tenantRoles')}</legend>
        <Checkbox label={t('tenantRole.admin')} checked={tenantRoles.includes('admin')} onChange={(on) => toggle('admin', on)} />
        <Checkbox label={t('tenantRole.dpo')} checked={tenantRoles.includes('dpo')} onChange={(on) => toggle('dpo', on)} />
      </fieldset>
      <fieldset>
        <legend>{t('user.memberships')}</legend>
        {departments.map((d) => (
          <SelectField
            key={d.id}
            label={d.name}
            value={roles[d.id] ?? ''}
            onChange={(x) => form.set('roles', { ...roles, [d.id]: x })}
            options={[
              { value: '', label: t('role.none') },
              { value: 'clerk', label: t('role.clerk') },
              { value: 'physician', label: t('role.physician') },
              { value: 'head', label: t('role.head') },
            ]}
          />
        ))}
      </fieldset>
    </>
  );
}

function NewUser({ onCreated }: { onCreated: () => void }) {
  const t = useT();
  const { me } = useSession();
  const blank = { displayName: '', username: '', password: '', ...accessOf() };
  const form = useForm(blank);
  const [created, setCreated] = useState<string | null>(null);
  const v = form.values;
  return (
    <form
      noValidate
      className="stacked panel"
      aria-labelledby="new-user"
      onSubmit={form.onSubmit(async (x) => {
        await api('POST', '/api/admin/users', { username: x.username, displayName: x.displayName, password: x.password, tenantRoles: x.tenantRoles, memberships: membershipsOf(x) });
        setCreated(x.displayName);
        form.reset(blank);
        onCreated();
      })}
    >
      <h3 id="new-user">{t('admin.newUser')}</h3>
      {created && <p role="status">{t('admin.userCreated', { name: created })}</p>}
      <TextField label={t('user.displayName')} value={v.displayName} onChange={(x) => form.set('displayName', x)} error={form.fieldError('displayName')} required />
      <TextField label={t('user.username')} value={v.username} onChange={(x) => form.set('username', x)} error={form.fieldError('username')} autoComplete="off" required />
      <NewPasswordField label={t('user.initialPassword')} value={v.password} onChange={(x) => form.set('password', x)} context={[v.username, v.displayName]} error={form.fieldError('password')} />
      <AccessFields form={form} departments={me.departments} />
      <FormError form={form} fields={['displayName', 'username', 'password', 'tenantRoles', 'memberships']} />
      <button type="submit" className="primary" disabled={form.busy}>
        {t('admin.createUser')}
      </button>
    </form>
  );
}
