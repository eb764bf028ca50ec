// Break the glass: a file of another department, found by surname with a stated
// reason, opened for 60 minutes. Both the search and the opening are audited with
// the reason, and the opening goes to the review queue of the department's head
// and the data-protection officer.
import { useState } from 'react';
import { api } from '../api/client.ts';
import type { PersonListItem } from '../api/types.ts';
import { formatDate, useT } from '../i18n/i18n.ts';
import { navigate } from '../router.tsx';
import { departmentName, useSession } from '../session.tsx';
import { FormError, TextField, useForm } from '../ui/form.tsx';

/** Grants opened in this page: person id → end of the grant (memory only). */
export const grants = new Map<string, string>();

const MIN_REASON = 20;

export function EmergencyAccess({ q }: { q: string }) {
  const t = useT();
  const { me } = useSession();
  const [open, setOpen] = useState(false);
  const form = useForm({ reason: '' });
  const opening = useForm({});
  const [found, setFound] = useState<PersonListItem[] | null>(null);
  if (!open) {
    return (
      <p>
        <button type="button" onClick={() => setOpen(true)}>
          {t('emergency.offer')}
        </button>
      </p>
    );
  }
  const reason = form.values.reason;
  return (
    <section className="panel emergency" aria-labelledby="emergency-title">
      <h2 id="emergency-title">{t('emergency.title')}</h2>
      <p>{t('emergency.warning')}</p>
      <form
        noValidate
        className="stacked"
        onSubmit={form.onSubmit(async (v) => setFound(await api<PersonListItem[]>('POST', '/api/persons/emergency-search', { q: q.trim(), reason: v.reason })))}
      >
        <TextField
          label={t('emergency.reason')}
          value={reason}
          onChange={(x) => form.set('reason', x)}
          multiline
          required
          hint={t('emergency.reasonHint', { n: MIN_REASON, left: Math.max(0, MIN_REASON - reason.trim().length) })}
          error={form.fieldError('reason')}
        />
        <FormError form={form} fields={['reason', 'q']} />
        <button type="submit" className="primary" disabled={form.busy || reason.trim().length < MIN_REASON || q.trim().length < 2}>
          {t('emergency.search', { q: q.trim() })}
        </button>
      </form>
      {found && found.length === 0 && <p role="status">{t('persons.none')}</p>}
      {found && found.length > 0 && (
        <ul className="records">
          {found.map((p) => (
            <li key={p.id}>
              <span>
                {p.familyName}, {p.givenName} · {formatDate(p.birthDate)} · {departmentName(me, p.departmentId)}
              </span>
              <button
                type="button"
                className="danger"
                onClick={opening.onSubmit(async () => {
                  const r = await api<{ expiresAt: string }>('POST', `/api/persons/${p.id}/break-glass`, { reason });
                  grants.set(p.id, r.expiresAt);
                  navigate(`/persons/${p.id}`);
                })}
              >
                {t('emergency.open', { name: `${p.familyName}, ${p.givenName}` })}
              </button>
            </li>
          ))}
        </ul>
      )}
      <FormError form={opening} fields={[]} />
    </section>
  );
}

/** Shown on a file opened by breaking the glass: the time left and the review to come. */
export function EmergencyBanner({ personId }: { personId: string }) {
  const t = useT();
  const until = grants.get(personId);
  const [now] = useState(Date.now());
  if (!until || Date.parse(until) <= now) return null;
  return (
    <p role="status" className="banner emergency">
      {t('emergency.banner', { minutes: Math.ceil((Date.parse(until) - now) / 60_000) })}
    </p>
  );
}
