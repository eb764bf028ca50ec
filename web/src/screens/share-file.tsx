// A department head shares a file with another department for a purpose and a
// period; the receiving department reads it, does not edit it, until then. A
// member who may not share is told why, and whom to ask. Ending a share asks first.
import { useState } from 'react';
import { api } from '../api/client.ts';
import type { Person, PersonFileView, Share } from '../api/types.ts';
import { formatDate, useT } from '../i18n/i18n.ts';
import { departmentName, useSession } from '../session.tsx';
import { FormError, SaveOrCancel, SelectField, TextField, useForm } from '../ui/form.tsx';
import { DateField } from '../ui/date-field.tsx';
import { Loaded, useLoad } from '../ui/load.tsx';
import { useConfirm } from '../ui/confirm.tsx';
import { useNotify } from '../ui/notice.tsx';
import { MIN_REASON } from '../../../src/records/reason-text.ts';

export function ShareFile({ person }: { person: PersonFileView }) {
  const t = useT();
  if (person.permissions.share) return <Shares person={person} />;
  const heads = person.shareAskHeads;
  if (!heads) return null;
  return (
    <p className="hint share-ask">
      {t('share.onlyHead')} {heads.length > 0 ? t('share.askHeads', { names: heads.join(', ') }) : t('share.noHead')}
    </p>
  );
}

/** The file's live shares, each revocable, and a new one behind a button. */
function Shares({ person }: { person: Person }) {
  const t = useT();
  const { me } = useSession();
  const shares = useLoad(() => api<Share[]>('GET', `/api/persons/${person.id}/shares`), [person.id]);
  const revoke = useForm({});
  const confirm = useConfirm();
  const notify = useNotify();
  const others = me.departments.filter((d) => d.id !== person.departmentId);
  const inAMonth = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);
  const form = useForm({ departmentId: others[0]?.id ?? '', purpose: '', until: inAMonth });
  const [open, setOpen] = useState(false);
  const list = (
    <Loaded state={shares}>
      {(live) =>
        live.length > 0 && (
          <section aria-labelledby="shares-title">
            <h2 id="shares-title">{t('share.live')}</h2>
            <ul className="records">
              {live.map((x) => (
                <li key={x.id}>
                  <span>
                    {t('share.item', {
                      department: departmentName(me, x.departmentId),
                      purpose: x.purpose,
                      until: formatDate(x.until),
                    })}
                  </span>
                  <button
                    type="button"
                    onClick={revoke.onSubmit(async () => {
                      const department = departmentName(me, x.departmentId);
                      if (
                        !(await confirm.ask({
                          title: t('share.endConfirm', { department }),
                          text: t('share.endConfirmText', { department }),
                          confirm: t('share.end'),
                        }))
                      )
                        return;
                      await api('DELETE', `/api/shares/${x.id}`);
                      notify(t('share.ended', { department }));
                      shares.reload();
                    })}
                  >
                    {t('share.revoke', { department: departmentName(me, x.departmentId) })}
                  </button>
                </li>
              ))}
            </ul>
            <FormError form={revoke} fields={[]} />
            {confirm.dialog}
          </section>
        )
      }
    </Loaded>
  );
  if (others.length === 0) return list;
  if (!open) {
    return (
      <>
        {list}
        <button type="button" onClick={() => setOpen(true)}>
          {t('share.offer')}
        </button>
      </>
    );
  }
  return (
    <>
      {list}
      <form
        noValidate
        className="stacked panel"
        aria-labelledby="share-title"
        onSubmit={form.onSubmit(async (v) => {
          await api('POST', `/api/persons/${person.id}/shares`, {
            departmentId: v.departmentId,
            purpose: v.purpose,
            until: /^\d{4}-\d{2}-\d{2}$/.test(v.until)
              ? new Date(`${v.until}T23:59:59`).toISOString()
              : v.until || undefined,
          });
          notify(t('share.done', { department: departmentName(me, v.departmentId), until: formatDate(v.until) }));
          form.set('purpose', '');
          setOpen(false);
          shares.reload();
        })}
      >
        <h2 id="share-title">{t('share.title')}</h2>
        <SelectField
          label={t('share.department')}
          value={form.values.departmentId}
          onChange={(x) => form.set('departmentId', x)}
          options={others.map((d) => ({ value: d.id, label: d.name }))}
          error={form.fieldError('departmentId')}
        />
        <TextField
          label={t('share.purpose')}
          value={form.values.purpose}
          onChange={(x) => form.set('purpose', x)}
          hint={t('share.purposeHint', { n: MIN_REASON })}
          error={form.fieldError('purpose')}
          required
        />
        <DateField
          label={t('share.until')}
          value={form.values.until}
          onChange={(x) => form.set('until', x)}
          error={form.fieldError('until')}
          required
        />
        <SaveOrCancel
          form={form}
          fields={['departmentId', 'purpose', 'until']}
          onCancel={() => setOpen(false)}
          submitLabel={t('share.submit')}
        />
      </form>
    </>
  );
}
