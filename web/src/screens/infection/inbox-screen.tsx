// The DEMIS inbox tab (issue 16): the department's notifications with filters (state, disease,
// notified between, mine), newest first and paged; `rest` opens one notification (its id), the
// quarantine (`quarantine`, `quarantine/<id>`) or the upload form (`upload`).
import { useState } from 'react';
import type { NotificationListItem } from '../../api/types.ts';
import { formatDate, formatDateTime, useT, type MessageKey } from '../../i18n/i18n.ts';
import { Link } from '../../router.tsx';
import { useSession } from '../../session.tsx';
import { Checkbox, SelectField } from '../../ui/form.tsx';
import { DateField } from '../../ui/date-field.tsx';
import { Loaded } from '../../ui/load.tsx';
import { usePaged } from '../../ui/paged.ts';
import { Table } from '../../ui/table.tsx';
import { NotificationView } from './inbox-detail.tsx';
import { QuarantineScreen } from './inbox-quarantine.tsx';
import { DEMIS_CODES, DepartmentPicker, diseaseName, fhirDate, InboxNav, useInboxDepartment } from './inbox-shared.tsx';
import { UploadScreen } from './inbox-upload.tsx';

export function InboxScreen({ rest }: { rest: string }) {
  const [section, id] = rest.split('/');
  if (section === 'quarantine') return <QuarantineScreen id={id} />;
  if (section === 'upload') return <UploadScreen />;
  if (section) return <NotificationView id={section} />;
  return <InboxList />;
}

type StateFilter = '' | NotificationListItem['state'];

function InboxList() {
  const t = useT();
  const { me } = useSession();
  const [departmentId, setDepartment] = useInboxDepartment();
  const [state, setState] = useState<StateFilter>('');
  const [disease, setDisease] = useState('');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [mine, setMine] = useState(false);
  const query = new URLSearchParams();
  if (state) query.set('state', state);
  if (disease) query.set('disease', disease);
  if (/^\d{4}-\d{2}-\d{2}$/.test(from)) query.set('from', from);
  if (/^\d{4}-\d{2}-\d{2}$/.test(to)) query.set('to', to);
  if (mine) query.set('assignee', me.id);
  const qs = query.toString();
  const list = usePaged<NotificationListItem>(
    departmentId ? `/api/departments/${departmentId}/notifications${qs ? `?${qs}` : ''}` : null,
  );
  return (
    <section aria-labelledby="inbox-title">
      <h2 id="inbox-title">{t('inbox.title')}</h2>
      <InboxNav current="list" />
      <DepartmentPicker value={departmentId} onChange={setDepartment} />
      <search>
        <form className="inline-form filters" aria-label={t('inbox.filters')} onSubmit={(e) => e.preventDefault()}>
          <SelectField
            label={t('inbox.filter.state')}
            value={state}
            onChange={setState}
            options={[
              { value: '', label: t('inbox.filter.all') },
              { value: 'new', label: t('inbox.state.new') },
              { value: 'assigned', label: t('inbox.state.assigned') },
              { value: 'matched', label: t('inbox.state.matched') },
              { value: 'closed', label: t('inbox.state.closed') },
            ]}
          />
          <SelectField
            label={t('inbox.filter.disease')}
            value={disease}
            onChange={setDisease}
            options={[
              { value: '', label: t('inbox.filter.all') },
              ...DEMIS_CODES.map((c) => ({ value: c.code, label: c.name })),
            ]}
          />
          <DateField label={t('inbox.filter.from')} value={from} onChange={setFrom} />
          <DateField label={t('inbox.filter.to')} value={to} onChange={setTo} />
          <Checkbox label={t('inbox.filter.mine')} checked={mine} onChange={setMine} />
        </form>
      </search>
      <Loaded state={list}>
        {(items) => (
          <>
            <Table
              items={items}
              none={t('inbox.none')}
              caption={t('inbox.title')}
              headers={[
                t('inbox.received'),
                t('inbox.notifiedAt'),
                t('inbox.disease'),
                t('inbox.person'),
                t('person.birthDate'),
                t('inbox.state'),
                t('inbox.assignee'),
              ]}
              row={(n) => (
                <tr key={n.id}>
                  <td>{formatDateTime(n.receivedAt)}</td>
                  <td>{formatDate(n.notifiedAt)}</td>
                  <td>
                    {diseaseName(n.disease)}{' '}
                    <span className="hint">
                      {t(n.kind === 'laboratory' ? 'inbox.kind.laboratory' : 'inbox.kind.disease')}
                    </span>
                  </td>
                  <td>
                    <Link to={`/infection/inbox/${n.id}`}>
                      {[n.person.familyName, n.person.givenName].filter(Boolean).join(', ') || t('inbox.noName')}
                    </Link>
                  </td>
                  <td>{fhirDate(n.person.birthDate)}</td>
                  <td>
                    {t(`inbox.state.${n.state}` as MessageKey)}
                    {n.cancelled && (
                      <>
                        {' '}
                        <span className="badge">{t('inbox.cancelled')}</span>
                      </>
                    )}
                    {n.corrected && (
                      <>
                        {' '}
                        <span className="badge">{t('inbox.corrected')}</span>
                      </>
                    )}
                    {n.caseReview && (
                      <>
                        {' '}
                        <span className="badge">{t('inbox.caseReview')}</span>
                      </>
                    )}
                  </td>
                  <td>{n.assigneeName ?? '—'}</td>
                </tr>
              )}
            />
            {list.more && (
              <button type="button" onClick={() => void list.loadMore()} disabled={list.busy}>
                {t('inbox.more')}
              </button>
            )}
          </>
        )}
      </Loaded>
    </section>
  );
}
