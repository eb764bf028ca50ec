// The quarantine: bundles that were refused (by the connection or an upload), each with its reasons —
// the element's path and what was expected there — and the bytes as received; dismissing one keeps it.
import { api } from '../../api/client.ts';
import type { QuarantineDetail, QuarantineItem } from '../../api/types.ts';
import { formatDateTime, useT } from '../../i18n/i18n.ts';
import { Link } from '../../router.tsx';
import { FormError, TextField, useForm } from '../../ui/form.tsx';
import { Loaded, useLoad } from '../../ui/load.tsx';
import { useNotify } from '../../ui/notice.tsx';
import { usePaged } from '../../ui/paged.ts';
import { Table } from '../../ui/table.tsx';
import { DepartmentPicker, InboxNav, useInboxDepartment } from './inbox-shared.tsx';
import { problemText } from './inbox-problems.ts';

export function QuarantineScreen({ id }: { id?: string }) {
  return id ? <QuarantineEntry id={id} /> : <QuarantineList />;
}

function QuarantineList() {
  const t = useT();
  const [departmentId, setDepartment] = useInboxDepartment();
  const list = usePaged<QuarantineItem>(departmentId ? `/api/departments/${departmentId}/quarantine` : null);
  return (
    <section aria-labelledby="quarantine-title">
      <h2 id="quarantine-title">{t('inbox.quarantine.title')}</h2>
      <InboxNav current="quarantine" />
      <p>{t('inbox.quarantine.intro')}</p>
      <DepartmentPicker value={departmentId} onChange={setDepartment} />
      <Loaded state={list}>
        {(items) => (
          <>
            <Table
              items={items}
              none={t('inbox.quarantine.none')}
              caption={t('inbox.quarantine.title')}
              headers={[t('inbox.received'), t('inbox.source'), t('inbox.quarantine.problems'), t('inbox.state')]}
              row={(q) => (
                <tr key={q.id}>
                  <td>
                    <Link to={`/infection/inbox/quarantine/${q.id}`}>{formatDateTime(q.receivedAt)}</Link>
                  </td>
                  <td>{t(q.source === 'demis' ? 'inbox.source.demis' : 'inbox.source.upload')}</td>
                  <td>{q.problemCount}</td>
                  <td>{t(q.state === 'open' ? 'inbox.quarantine.open' : 'inbox.quarantine.dismissed')}</td>
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

function QuarantineEntry({ id }: { id: string }) {
  const t = useT();
  const notify = useNotify();
  const entry = useLoad(() => api<QuarantineDetail>('GET', `/api/quarantine/${id}`), [id]);
  const form = useForm({ reason: '' });
  return (
    <section aria-labelledby="quarantine-entry-title">
      <InboxNav current="quarantine" />
      <Loaded state={entry}>
        {(q) => (
          <>
            <h2 id="quarantine-entry-title">{t('inbox.quarantine.entry', { when: formatDateTime(q.receivedAt) })}</h2>
            <Table
              items={q.problems}
              caption={t('inbox.quarantine.problems')}
              headers={[t('inbox.quarantine.element'), t('inbox.quarantine.expected')]}
              row={(p) => (
                <tr key={`${p.path}|${p.expected}`}>
                  <td>
                    <code>{p.path}</code>
                  </td>
                  <td>{problemText(t, p)}</td>
                </tr>
              )}
            />
            {q.state === 'dismissed' ? (
              <p>
                {t('inbox.quarantine.dismissedBy', {
                  name: q.decidedByName ?? '—',
                  when: q.decidedAt ? formatDateTime(q.decidedAt) : '—',
                })}
                {q.reason && `: ${q.reason}`}
              </p>
            ) : (
              <form
                className="stacked"
                noValidate
                aria-labelledby="dismiss-title"
                onSubmit={form.onSubmit(async (v) => {
                  await api('POST', `/api/quarantine/${id}/dismiss`, { reason: v.reason });
                  notify(t('inbox.quarantine.dismissedNote'));
                  entry.reload();
                })}
              >
                <h3 id="dismiss-title">{t('inbox.quarantine.dismiss')}</h3>
                <TextField
                  label={t('inbox.closeReason')}
                  value={form.values.reason}
                  onChange={(v) => form.set('reason', v)}
                  error={form.fieldError('reason')}
                />
                <FormError form={form} fields={['reason']} />
                <button type="submit" disabled={form.busy}>
                  {t('inbox.quarantine.dismiss')}
                </button>
              </form>
            )}
            <h3>{t('inbox.quarantine.raw')}</h3>
            {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be reachable by keyboard (axe scrollable-region-focusable) */}
            <section className="raw-bundle" tabIndex={0} aria-label={t('inbox.quarantine.raw')}>
              <pre>{q.raw}</pre>
            </section>
          </>
        )}
      </Loaded>
    </section>
  );
}
