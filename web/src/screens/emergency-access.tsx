// Break the glass: a file of another department, found by family name AND birth date
// with a stated reason, opened for 60 minutes. The search is an emergency access of its
// own (audited with the reason, reviewed by the data-protection officer, a few per hour);
// it answers no more than tells the hits apart: the given name's first letter and whether
// the family name matched as typed or only as it sounds, never the department. Opening
// one goes to the review queue of its department's head and the data-protection officer.
import { useEffect, useState } from 'react';
import { api } from '../api/client.ts';
import type { EmergencySearchAnswer } from '../api/types.ts';
import { useT } from '../i18n/i18n.ts';
import { navigate } from '../router.tsx';
import { FormError, TextField, useForm } from '../ui/form.tsx';
import { DateField } from '../ui/date-field.tsx';
import { MIN_REASON, reasonProblem } from '../../../src/records/reason-text.ts';

/** The ordinary search's words, as a first guess at the family name (a date is not one). */
const nameOf = (q: string) =>
  q
    .trim()
    .split(/\s+/)
    .filter((w) => !/^[\d.-]+$/.test(w))
    .join(' ');

export function EmergencyAccess({ q }: { q: string }) {
  const t = useT();
  const [open, setOpen] = useState(false);
  const form = useForm({ familyName: nameOf(q), birthDate: '', reason: '' });
  const opening = useForm({});
  const [found, setFound] = useState<EmergencySearchAnswer | null>(null);
  if (!open) {
    return (
      <p>
        <button type="button" onClick={() => setOpen(true)}>
          {t('emergency.offer')}
        </button>
      </p>
    );
  }
  const { familyName, birthDate, reason } = form.values;
  const left = Math.max(0, MIN_REASON - reason.trim().length);
  const notText = left === 0 && reasonProblem(reason) !== null;
  const ready =
    familyName.trim().length >= 2 && /^\d{4}-\d{2}-\d{2}$/.test(birthDate) && reasonProblem(reason) === null;
  return (
    <section className="panel emergency" aria-labelledby="emergency-title">
      <h2 id="emergency-title">{t('emergency.title')}</h2>
      <p>{t('emergency.warning')}</p>
      <form
        noValidate
        className="stacked"
        onSubmit={form.onSubmit(async (v) =>
          setFound(
            await api<EmergencySearchAnswer>('POST', '/api/persons/emergency-search', {
              familyName: v.familyName.trim(),
              birthDate: v.birthDate,
              reason: v.reason,
            }),
          ),
        )}
      >
        <TextField
          label={t('emergency.familyName')}
          value={familyName}
          onChange={(x) => form.set('familyName', x)}
          required
          error={form.fieldError('familyName')}
        />
        <DateField
          label={t('emergency.birthDate')}
          value={birthDate}
          onChange={(x) => form.set('birthDate', x)}
          required
          error={form.fieldError('birthDate')}
        />
        <TextField
          label={t('emergency.reason')}
          value={reason}
          onChange={(x) => form.set('reason', x)}
          multiline
          required
          hint={notText ? t('emergency.reasonNotText') : t('emergency.reasonHint', { n: MIN_REASON, left })}
          error={form.fieldError('reason')}
        />
        <FormError form={form} fields={['familyName', 'birthDate', 'reason']} />
        <button type="submit" className="primary" disabled={form.busy || !ready}>
          {t('emergency.search', { q: familyName.trim() })}
        </button>
      </form>
      {found && (
        <p role="status">
          {found.hits.length === 0 ? t('persons.none') : t('emergency.found', { n: found.hits.length })}{' '}
          {t('emergency.left', { n: found.searchesLeft })}
        </p>
      )}
      {found && found.hits.length > 0 && (
        <ul className="records">
          {found.hits.map((hit, i) => {
            const label = t(hit.match === 'exact' ? 'emergency.hitExact' : 'emergency.hitPhonetic', {
              n: i + 1,
              initial: hit.givenNameInitial,
            });
            return (
              <li key={hit.handle}>
                <span>{label}</span>
                <button
                  type="button"
                  className="danger"
                  onClick={opening.onSubmit(async () => {
                    const r = await api<{ personId: string; expiresAt: string }>(
                      'POST',
                      `/api/emergency-hits/${hit.handle}/break-glass`,
                      { reason },
                    );
                    navigate(`/persons/${r.personId}`);
                  })}
                >
                  {t('emergency.open', { name: label })}
                </button>
              </li>
            );
          })}
        </ul>
      )}
      <FormError form={opening} fields={[]} />
    </section>
  );
}

/**
 * Shown on a file opened by breaking the glass: the time left and the review to
 * come. The end comes with the file from the server (so it is there after a
 * reload, and gone when the grant is), and the minutes count down.
 */
export function EmergencyBanner({ expiresAt }: { expiresAt: string }) {
  const t = useT();
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 15_000);
    return () => clearInterval(timer);
  }, []);
  const left = Date.parse(expiresAt) - now;
  return (
    <p role="status" className="banner emergency">
      {left > 0 ? t('emergency.banner', { n: Math.ceil(left / 60_000) }) : t('emergency.bannerEnded')}
    </p>
  );
}
