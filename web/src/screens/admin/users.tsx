// Users: create with roles and memberships (the person gets a one-time
// enrolment link and sets the password; what is granted waits for a second
// account's approval), change access, deactivate, and re-enrol lost
// credentials (a reset link, once a second person approved it). Deactivating
// and a reset ask first. The server refuses an administrator changing its own
// access or asking for its own reset link, so its own row offers none of that.
import { useState } from 'react';
import { api } from '../../api/client.ts';
import type { Department, DepartmentRole, EnrolmentLink, Membership, TenantRole, UserView } from '../../api/types.ts';
import { formatDateTime, useT } from '../../i18n/i18n.ts';
import { departmentName, useSession } from '../../session.tsx';
import { Checkbox, FormError, SelectField, TextField, useForm, type FormState } from '../../ui/form.tsx';
import { Loaded, useLoad } from '../../ui/load.tsx';
import { Table } from '../../ui/table.tsx';
import { useConfirm } from '../../ui/confirm.tsx';
import { useNotify } from '../../ui/notice.tsx';

interface Access {
  tenantRoles: TenantRole[];
  /** department id → role, or '' for no membership */
  roles: Record<string, DepartmentRole | ''>;
}

const membershipsOf = (a: Access): Membership[] =>
  Object.entries(a.roles)
    .filter(([, role]) => role !== '')
    .map(([departmentId, role]) => ({ departmentId, role: role as DepartmentRole }));

/** What the user holds or waits for: the form starts from what was last asked for. */
const accessOf = (u?: UserView): Access => ({
  tenantRoles: [...(u?.tenantRoles ?? []), ...(u?.pendingRoles ?? []).map((p) => p.role)],
  roles: Object.fromEntries(
    [
      ...(u?.memberships ?? []).filter((m) => m.state === 'active'),
      ...(u?.memberships ?? []).filter((m) => m.state === 'pending'),
    ].map((m) => [m.departmentId, m.role]),
  ),
});

/** A one-time link to hand over; shown once. */
function EnrolmentLinkPanel({ name, link }: { name: string; link: EnrolmentLink }) {
  const t = useT();
  return (
    <div className="panel" role="status">
      <h4>{t('link.title', { name })}</h4>
      <p>{t('link.text', { until: formatDateTime(link.expiresAt) })}</p>
      <code className="secret">{link.url}</code>
    </div>
  );
}

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
            headers={[
              t('user.displayName'),
              t('user.username'),
              t('user.access'),
              t('user.status'),
              t('common.actions'),
            ]}
            row={(u) => (
              <UserRow
                key={u.id}
                user={u}
                editing={editing === u.id}
                onEdit={() => setEditing(editing === u.id ? null : u.id)}
                onChanged={list.reload}
              />
            )}
          />
        )}
      </Loaded>
      <NewUser onCreated={list.reload} />
    </>
  );
}

function UserRow({
  user,
  editing,
  onEdit,
  onChanged,
}: {
  user: UserView;
  editing: boolean;
  onEdit: () => void;
  onChanged: () => void;
}) {
  const t = useT();
  const { me } = useSession();
  const form = useForm(accessOf(user));
  const act = useForm({});
  const confirm = useConfirm();
  const notify = useNotify();
  const [resetAsked, setResetAsked] = useState(false);
  const [link, setLink] = useState<EnrolmentLink | null>(null);
  const pending = ` (${t('user.pending')})`;
  const access = [
    ...user.tenantRoles.map((r) => t(`tenantRole.${r}`)),
    ...user.pendingRoles.map((p) => t(`tenantRole.${p.role}`) + pending),
    ...user.memberships.map(
      (m) => `${departmentName(me, m.departmentId)}: ${t(`role.${m.role}`)}${m.state === 'pending' ? pending : ''}`,
    ),
  ];
  const self = user.id === me.id;
  return (
    <>
      <tr>
        <td>{user.displayName}</td>
        <td>{user.username}</td>
        <td>{access.join('; ') || '—'}</td>
        <td>
          {user.active ? t('user.active') : t('user.inactive')}
          {user.passwordOrigin === 'none' && ` · ${t('user.notEnrolled')}`}
          {user.passwordOrigin !== 'none' && user.active && !user.mfaEnrolled && ` · ${t('user.mfaPending')}`}
          {user.passwordOrigin === 'admin' && ` · ${t('user.passwordByAdmin')}`}
        </td>
        <td>
          <form
            className="row-actions"
            noValidate
            onSubmit={(e) => e.preventDefault()}
            aria-label={t('user.actionsFor', { name: user.displayName })}
          >
            {!self && (
              <>
                <button type="button" onClick={onEdit} aria-expanded={editing}>
                  {t('user.editAccess')}
                </button>
                <button
                  type="button"
                  onClick={act.onSubmit(async () => {
                    const name = user.displayName;
                    if (
                      user.active &&
                      !(await confirm.ask({
                        title: t('user.deactivateConfirm', { name }),
                        text: t('user.deactivateConfirmText'),
                        confirm: t('user.deactivate'),
                      }))
                    )
                      return;
                    await api('PATCH', `/api/admin/users/${user.id}`, { active: !user.active });
                    notify(t(user.active ? 'user.deactivated' : 'user.activated', { name }));
                    onChanged();
                  })}
                >
                  {user.active ? t('user.deactivate') : t('user.activate')}
                </button>
                <button
                  type="button"
                  onClick={act.onSubmit(async () => {
                    const name = user.displayName;
                    if (
                      !(await confirm.ask({
                        title: t('user.resetConfirmTitle', { name }),
                        text: t('user.resetConfirmText'),
                        confirm: t('user.resetMfa'),
                      }))
                    )
                      return;
                    await api('POST', `/api/admin/users/${user.id}/enrolment`);
                    setResetAsked(true);
                  })}
                >
                  {t('user.resetMfa')}
                </button>
                <button
                  type="button"
                  onClick={act.onSubmit(async () =>
                    setLink(await api<EnrolmentLink>('GET', `/api/admin/users/${user.id}/enrolment`)),
                  )}
                >
                  {t('user.fetchLink')}
                </button>
              </>
            )}
            {self && <span className="hint">{t('user.ownRow')}</span>}
            {resetAsked && !link && <p role="status">{t('user.resetAsked')}</p>}
            {link && <EnrolmentLinkPanel name={user.displayName} link={link} />}
            <FormError form={act} fields={[]} />
            {confirm.dialog}
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
                await api('PATCH', `/api/admin/users/${user.id}`, {
                  tenantRoles: v.tenantRoles,
                  memberships: membershipsOf(v),
                });
                notify(t('common.saved'));
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

function AccessFields({
  form,
  departments,
}: {
  form: Pick<FormState<Access>, 'values' | 'set'>;
  departments: Department[];
}) {
  const t = useT();
  const { tenantRoles, roles } = form.values;
  const toggle = (r: TenantRole, on: boolean) =>
    form.set('tenantRoles', on ? [...tenantRoles, r] : tenantRoles.filter((x) => x !== r));
  return (
    <>
      <fieldset>
        <legend>{t('user.tenantRoles')}</legend>
        <Checkbox
          label={t('tenantRole.admin')}
          checked={tenantRoles.includes('admin')}
          onChange={(on) => toggle('admin', on)}
        />
        <Checkbox
          label={t('tenantRole.dpo')}
          checked={tenantRoles.includes('dpo')}
          onChange={(on) => toggle('dpo', on)}
        />
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
  const blank = { displayName: '', username: '', ...accessOf() };
  const form = useForm(blank);
  const [created, setCreated] = useState<{ name: string; enrolment: EnrolmentLink; pending: number } | null>(null);
  const v = form.values;
  return (
    <form
      noValidate
      className="stacked panel"
      aria-labelledby="new-user"
      onSubmit={form.onSubmit(async (x) => {
        const r = await api<{ enrolment: EnrolmentLink; pendingApprovals: string[] }>('POST', '/api/admin/users', {
          username: x.username,
          displayName: x.displayName,
          tenantRoles: x.tenantRoles,
          memberships: membershipsOf(x),
        });
        setCreated({ name: x.displayName, enrolment: r.enrolment, pending: r.pendingApprovals.length });
        form.reset(blank);
        onCreated();
      })}
    >
      <h3 id="new-user">{t('admin.newUser')}</h3>
      {created && (
        <>
          <p role="status">{t('admin.userCreated', { name: created.name })}</p>
          {created.pending > 0 && <p>{t('user.grantsPending')}</p>}
          <EnrolmentLinkPanel name={created.name} link={created.enrolment} />
        </>
      )}
      <TextField
        label={t('user.displayName')}
        value={v.displayName}
        onChange={(x) => form.set('displayName', x)}
        error={form.fieldError('displayName')}
        required
      />
      <TextField
        label={t('user.username')}
        value={v.username}
        onChange={(x) => form.set('username', x)}
        error={form.fieldError('username')}
        autoComplete="off"
        required
      />
      <AccessFields form={form} departments={me.departments} />
      <FormError form={form} fields={['displayName', 'username', 'tenantRoles', 'memberships']} />
      <button type="submit" className="primary" disabled={form.busy}>
        {t('admin.createUser')}
      </button>
    </form>
  );
}
