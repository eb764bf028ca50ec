// Search the files of one's own departments by family name (exact or sounding alike),
// given name or birth date; more results a page at a time.
import { useState } from 'react';
import { apiPage } from '../api/client.ts';
import type { PersonListItem } from '../api/types.ts';
import { formatDate, useT } from '../i18n/i18n.ts';
import { Link } from '../router.tsx';
import { departmentName, isMember, useSession } from '../session.tsx';
import { FormError, TextField, useForm } from '../ui/form.tsx';
import { EmergencyAccess } from './emergency-access.tsx';
import { Table } from '../ui/table.tsx';

// Kept in memory only (never in the address bar or browser storage) for the way back from a file.
let last: { q: string; results: PersonListItem[] | null; next: string | null } = { q: '', results: null, next: null };

export function PersonSearch() {
  const t = useT();
  const { me } = useSession();
  const form = useForm({ q: last.q });
  const [results, setResults] = useState(last.results);
  const [next, setNext] = useState(last.next);
  const more = useForm({});

  const search = form.onSubmit(async ({ q }) => {
    const found = await apiPage<PersonListItem>(`/api/persons?q=${encodeURIComponent(q.trim())}`);
    last = { q, results: found.items, next: found.next };
    setResults(found.items);
    setNext(found.next);
  });
  const loadMore = more.onSubmit(async () => {
    if (!next) return;
    const found = await apiPage<PersonListItem>(next);
    last = { ...last, results: [...(last.results ?? []), ...found.items], next: found.next };
    setResults(last.results);
    setNext(found.next);
  });

  return (
    <section>
      <div className="heading-row">
        <h1>{t('persons.title')}</h1>
        {isMember(me) && (
          <Link to="/persons/new" className="button primary">
            {t('persons.new')}
          </Link>
        )}
      </div>
      <search>
        <form className="inline-form" noValidate onSubmit={search}>
          <TextField
            label={t('persons.query')}
            type="search"
            value={form.values.q}
            onChange={(v) => form.set('q', v)}
            hint={t('persons.queryHint')}
            autoFocus
            error={form.fieldError('q')}
          />
          <button type="submit" className="primary" disabled={form.busy || form.values.q.trim().length < 2}>
            {t('persons.search')}
          </button>
        </form>
      </search>
      <FormError form={form} fields={['q']} />
      {results && results.length === 0 && <p role="status">{t('persons.none')}</p>}
      {results && isMember(me) && <EmergencyAccess key={last.q} q={last.q} />}
      {results && results.length > 0 && (
        <Table
          items={results}
          caption={t('persons.results', { n: results.length })}
          headers={[t('person.name'), t('person.birthDate'), t('person.department')]}
          row={(p) => (
            <tr key={p.id}>
              <td>
                <Link to={`/persons/${p.id}`}>
                  {p.familyName}, {p.givenName}
                </Link>
              </td>
              <td>{formatDate(p.birthDate)}</td>
              <td>{departmentName(me, p.departmentId)}</td>
            </tr>
          )}
        />
      )}
      {results && next && (
        <button type="button" disabled={more.busy} onClick={loadMore}>
          {t('persons.more')}
        </button>
      )}
      <FormError form={more} fields={[]} />
    </section>
  );
}
