// What waits for the caller's approval: memberships of their department (a
// head; a DPO while a department has no head), tenant roles (another admin or
// a DPO) and re-enrolment links (another admin or a head). The server lists
// only what the caller may decide, never what they asked for themselves.
import { api } from '../api/client.ts';
import type { Approval } from '../api/types.ts';
import { formatDateTime, useT } from '../i18n/i18n.ts';
import { departmentName, useSession } from '../session.tsx';
import { FormError, useForm } from '../ui/form.tsx';
import { Loaded, useLoad } from '../ui/load.tsx';
import { Table } from '../ui/table.tsx';

export default function ApprovalsScreen() {
  const t = useT();
  const { me } = useSession();
  const list = useLoad(() => api<Approval[]>('GET', '/api/approvals'), []);
  const act = useForm({});
  const what = (a: Approval) =>
    a.kind === 'membership'
      ? t('approvals.kind.membership', {
          department: departmentName(me, a.departmentId!),
          role: t(`role.${a.role as 'clerk'}`),
        })
      : a.kind === 'role'
        ? t('approvals.kind.role', { role: t(`tenantRole.${a.role as 'admin'}`) }) +
          (a.state === 'exempt' ? ` – ${t('approvals.exempt')}` : '')
        : t('approvals.kind.enrolment');
  const decide = (a: Approval, decision: 'approve' | 'reject') =>
    act.onSubmit(async () => {
      await api('POST', `/api/approvals/${a.id}`, { decision });
      list.reload();
    });
  return (
    <section>
      <h1>{t('approvals.title')}</h1>
      <p>{t('approvals.intro')}</p>
      <FormError form={act} fields={[]} />
      <Loaded state={list}>
        {(items) => (
          <Table
            items={items}
            none={t('approvals.none')}
            headers={[
              t('approvals.for'),
              t('approvals.what'),
              t('approvals.by'),
              t('approvals.at'),
              t('common.actions'),
            ]}
            row={(a) => (
              <tr key={a.id}>
                <td>{a.userName}</td>
                <td>{what(a)}</td>
                <td>{a.requestedByName}</td>
                <td>{formatDateTime(a.requestedAt)}</td>
                <td>
                  <fieldset className="row-actions" aria-label={t('approvals.actionsFor', { name: a.userName })}>
                    <button type="button" className="primary" disabled={act.busy} onClick={decide(a, 'approve')}>
                      {t('approvals.approve')}
                    </button>
                    <button type="button" disabled={act.busy} onClick={decide(a, 'reject')}>
                      {t('approvals.reject')}
                    </button>
                  </fieldset>
                </td>
              </tr>
            )}
          />
        )}
      </Loaded>
    </section>
  );
}
