// The contact persons of an outbreak's cases (issue 16, on `/infection/outbreaks/<id>`): how many are in
// follow-up, ended or turned into cases, and those the caller may read with the person's name, each
// leading to its index case. The server leaves out restricted contacts for whoever may not read them.
import type { OutbreakView } from '../../api/types.ts';
import { formatDate, useT } from '../../i18n/i18n.ts';
import { Link } from '../../router.tsx';
import { Table } from '../../ui/table.tsx';

const STATES = ['active', 'ended', 'converted'] as const;

export function OutbreakContacts({ o }: { o: OutbreakView }) {
  const t = useT();
  const total = STATES.reduce((n, s) => n + o.contactCounts[s], 0);
  return (
    <section aria-labelledby="outbreak-contacts">
      <h3 id="outbreak-contacts">{t('outbreaks.contacts')}</h3>
      <table className="counts">
        <caption>{t('outbreaks.contactCounts')}</caption>
        <thead>
          <tr>
            {STATES.map((s) => (
              <th key={s} scope="col">
                {t(`contact.state.${s}`)}
              </th>
            ))}
            <th scope="col">{t('outbreaks.total')}</th>
          </tr>
        </thead>
        <tbody>
          <tr>
            {STATES.map((s) => (
              <td key={s} className="number">
                {o.contactCounts[s]}
              </td>
            ))}
            <td className="number">{total}</td>
          </tr>
        </tbody>
      </table>
      <Table
        items={o.contactList}
        none={t('outbreaks.noContacts')}
        caption={t('outbreaks.contactList')}
        headers={[
          t('outbreaks.person'),
          t('person.birthDate'),
          t('field.ifsg-contact.lastExposure'),
          t('field.ifsg-contact.followUpUntil'),
          t('field.ifsg-contact.state'),
          t('outbreaks.indexCase'),
        ]}
        row={(c) => (
          <tr key={c.id}>
            <th scope="row">
              <Link to={`/persons/${c.personId}`}>{`${c.familyName}, ${c.givenName}`}</Link>
              {c.sensitivity === 'restricted' && <span className="hint"> ({t('outbreaks.restricted')})</span>}
            </th>
            <td>{formatDate(c.birthDate)}</td>
            <td>{formatDate(c.lastExposure)}</td>
            <td>{formatDate(c.followUpUntil)}</td>
            <td>{t(`contact.state.${c.state}`)}</td>
            <td>
              <Link to={`/infection/cases/${c.caseId}`}>{t('outbreaks.openIndexCase')}</Link>
            </td>
          </tr>
        )}
      />
      {o.contactsNotListed > 0 && (
        <p className="hint">{t('outbreaks.contactsNotListed', { n: o.contactsNotListed })}</p>
      )}
    </section>
  );
}
