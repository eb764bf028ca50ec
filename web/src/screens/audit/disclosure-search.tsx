// The DPO's first step of an access report (Art. 15 GDPR): find the person's files
// in every department by family name and birth date (audited; the answer names the
// files, never their contents), choose the ones meant, and open one report over them.
import { useState } from 'react';
import { api } from '../../api/client.ts';
import type { DisclosureHit } from '../../api/types.ts';
import { formatDate, useT } from '../../i18n/i18n.ts';
import { navigate } from '../../router.tsx';
import { DateField } from '../../ui/date-field.tsx';
import { Checkbox, FormError, TextField, useForm } from '../../ui/form.tsx';

export function DisclosureSearch() {
  const t = useT();
  const form = useForm({ familyName: '', birthDate: '' });
  const [hits, setHits] = useState<DisclosureHit[] | null>(null);
  const [chosen, setChosen] = useState<Set<string>>(new Set());
  const [problem, setProblem] = useState(false);
  const { familyName, birthDate } = form.values;
  return (
    <section aria-labelledby="disclosure-title">
      <h2 id="disclosure-title">{t('disclosure.title')}</h2>
      <p>{t('disclosure.intro')}</p>
      <form
        noValidate
        className="filters"
        aria-label={t('disclosure.search')}
        onSubmit={form.onSubmit(async (v) => {
          const found = await api<DisclosureHit[]>('POST', '/api/access-reports/person-search', {
            familyName: v.familyName.trim(),
            birthDate: v.birthDate,
          });
          setHits(found);
          setChosen(new Set(found.map((h) => h.id)));
          setProblem(false);
        })}
      >
        <TextField
          label={t('disclosure.familyName')}
          value={familyName}
          onChange={(x) => form.set('familyName', x)}
          required
          error={form.fieldError('familyName')}
        />
        <DateField
          label={t('disclosure.birthDate')}
          value={birthDate}
          onChange={(x) => form.set('birthDate', x)}
          required
          error={form.fieldError('birthDate')}
        />
        <button type="submit" className="primary" disabled={form.busy}>
          {t('disclosure.search')}
        </button>
      </form>
      <FormError form={form} fields={['familyName', 'birthDate']} />
      {hits && (
        <div role="status">
          <p>{hits.length ? t('disclosure.found', { n: hits.length }) : t('disclosure.none')}</p>
        </div>
      )}
      {hits && hits.length > 0 && (
        <form
          className="stacked"
          onSubmit={(e) => {
            e.preventDefault();
            const ids = hits.filter((h) => chosen.has(h.id)).map((h) => h.id);
            if (ids.length === 0) return setProblem(true);
            navigate(`/audit/report/${ids.map(encodeURIComponent).join(',')}`);
          }}
        >
          <fieldset>
            <legend>{t('disclosure.pick')}</legend>
            {hits.map((h) => (
              <Checkbox
                key={h.id}
                label={t('disclosure.file', {
                  name: `${h.familyName}, ${h.givenName}`,
                  birthDate: formatDate(h.birthDate),
                  department: h.departmentName,
                })}
                checked={chosen.has(h.id)}
                onChange={(on) =>
                  setChosen((c) => {
                    const next = new Set(c);
                    if (on) next.add(h.id);
                    else next.delete(h.id);
                    return next;
                  })
                }
              />
            ))}
          </fieldset>
          {problem && (
            <p role="alert" className="form-error">
              {t('disclosure.pickOne')}
            </p>
          )}
          <div>
            <button type="submit" className="primary">
              {t('disclosure.make')}
            </button>
          </div>
        </form>
      )}
    </section>
  );
}
