// A case's contact persons (issue 16): the list (category, setting, exposure, follow-up period, state,
// last follow-up), "Kontaktperson hinzufügen" — a dialog that finds an existing file of the
// department or creates a new person, with category, exposure and the follow-up end prefilled from
// the disease's longest incubation period — and turning a contact into a case of its own.
import { useEffect, useId, useRef, useState } from 'react';
import { api, ApiError } from '../../api/client.ts';
import type { CaseContacts as CaseContactsView, ContactItem, PersonListItem } from '../../api/types.ts';
import { formatDate, useT, type MessageKey } from '../../i18n/i18n.ts';
import { Link } from '../../router.tsx';
import { FormError, SelectField, TextField, errorTitle, useForm } from '../../ui/form.tsx';
import { DateField } from '../../ui/date-field.tsx';
import { useConfirm } from '../../ui/confirm.tsx';
import { Loaded, useLoad } from '../../ui/load.tsx';
import { Table } from '../../ui/table.tsx';
import { useNotify } from '../../ui/notice.tsx';
import { PersonFields, personBody, personValues, type PersonValues } from '../person-fields.tsx';
import { today } from './cases-form.tsx';

const CATEGORIES = ['close', 'other'] as const;
const SETTINGS = [
  'household',
  'healthcare',
  'community-facility',
  'school',
  'daycare',
  'work',
  'event',
  'travel',
  'other',
] as const;
const categoryLabel = (c: string) => `contact.category.${c}` as MessageKey;
const settingLabel = (s: string) => `contact.setting.${s}` as MessageKey;
const stateLabel = (s: string) => `contact.state.${s}` as MessageKey;

/** An ISO date plus `days` days ('' while the date is not one yet). */
function plusDays(iso: string, days: number): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(iso)) return '';
  const d = new Date(`${iso}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

export function CaseContacts({ caseId, departmentId }: { caseId: string; departmentId?: string }) {
  const t = useT();
  const notify = useNotify();
  const contacts = useLoad(() => api<CaseContactsView>('GET', `/api/cases/${caseId}/contacts`), [caseId]);
  const [adding, setAdding] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const { ask, dialog } = useConfirm();
  const convert = async (c: ContactItem) => {
    const yes = await ask({
      title: t('cases.contacts.convertTitle', { name: `${c.givenName} ${c.familyName}` }),
      text: t('cases.contacts.convertText'),
      confirm: t('cases.contacts.convert'),
    });
    if (!yes) return;
    setError(null);
    try {
      await api('POST', `/api/contacts/${c.recordId}/convert`);
      notify(t('cases.contacts.converted'));
    } catch (e) {
      if (e instanceof ApiError) setError(e);
      else throw e;
    }
    contacts.reload();
  };
  // Ending a contact's follow-up is an edit of its record, on top of the version listed.
  const end = async (c: ContactItem) => {
    setError(null);
    const {
      recordId,
      personId: _p,
      familyName: _f,
      givenName: _g,
      birthDate: _b,
      version,
      sensitivity: _s,
      lastFollowUp: _l,
      ...content
    } = c;
    try {
      await api('PUT', `/api/records/${recordId}`, {
        content: { ...content, indexCaseId: caseId, state: 'ended' },
        version,
      });
      notify(t('cases.contacts.ended'));
    } catch (e) {
      if (e instanceof ApiError) setError(e);
      else throw e;
    }
    contacts.reload();
  };
  return (
    <section aria-labelledby="case-contacts">
      <div className="heading-row">
        <h3 id="case-contacts">{t('cases.contacts.title')}</h3>
        <button type="button" className="primary" onClick={() => setAdding(true)} aria-haspopup="dialog">
          {t('cases.contacts.add')}
        </button>
      </div>
      {error && (
        <p role="alert" className="form-error">
          {error.code === 'stale-version' ? t('error.staleVersion') : errorTitle(t, error)}
        </p>
      )}
      <Loaded state={contacts}>
        {(view) => (
          <>
            <Table
              items={view.contacts}
              none={t('cases.contacts.none')}
              caption={t('cases.contacts.caption')}
              headers={[
                t('cases.person'),
                t('field.ifsg-contact.category'),
                t('field.ifsg-contact.setting'),
                t('field.ifsg-contact.lastExposure'),
                t('field.ifsg-contact.followUpUntil'),
                t('field.ifsg-contact.state'),
                t('cases.contacts.lastFollowUp'),
                t('common.actions'),
              ]}
              row={(c) => (
                <tr key={c.recordId} id={`contact-${c.recordId}`}>
                  <td>
                    <Link to={`/persons/${c.personId}`}>
                      {c.familyName}, {c.givenName}
                    </Link>{' '}
                    <span className="hint">{formatDate(c.birthDate)}</span>
                  </td>
                  <td>{t(categoryLabel(c.category))}</td>
                  <td>{c.setting ? t(settingLabel(c.setting)) : '—'}</td>
                  <td>{formatDate(c.lastExposure)}</td>
                  <td>{formatDate(c.followUpUntil)}</td>
                  <td>{t(stateLabel(c.state))}</td>
                  <td>{c.lastFollowUp ? formatDate(c.lastFollowUp) : t('followUps.never')}</td>
                  <td>
                    {c.state === 'converted' && c.convertedCaseId ? (
                      <Link to={`/infection/cases/${c.convertedCaseId}`}>{t('cases.contacts.openCase')}</Link>
                    ) : (
                      <>
                        {c.state === 'active' && (
                          <button type="button" className="inline" onClick={() => void end(c)}>
                            {t('cases.contacts.end')}
                            <span className="visually-hidden">
                              {' '}
                              {c.givenName} {c.familyName}
                            </span>
                          </button>
                        )}{' '}
                        <button type="button" className="inline" onClick={() => void convert(c)}>
                          {t('cases.contacts.convert')}
                          <span className="visually-hidden">
                            {' '}
                            {c.givenName} {c.familyName}
                          </span>
                        </button>
                      </>
                    )}
                  </td>
                </tr>
              )}
            />
            {adding && (
              <AddContact
                caseId={caseId}
                departmentId={departmentId}
                followUpDays={view.followUpDays}
                onClose={(added) => {
                  setAdding(false);
                  if (added) {
                    notify(t('cases.contacts.added'));
                    contacts.reload();
                  }
                }}
              />
            )}
          </>
        )}
      </Loaded>
      {dialog}
    </section>
  );
}

interface ContactValues extends PersonValues {
  mode: 'existing' | 'new';
  category: (typeof CATEGORIES)[number];
  setting: '' | (typeof SETTINGS)[number];
  lastExposure: string;
  followUpUntil: string;
  measure: '' | 'quarantine' | 'observation';
  measureUntil: string;
  legalBasis: string;
  notes: string;
}

/** The dialog "Kontaktperson hinzufügen": modal, Escape cancels, the focus returns to the button that opened it. */
function AddContact({
  caseId,
  departmentId,
  followUpDays,
  onClose,
}: {
  caseId: string;
  departmentId?: string;
  followUpDays: number;
  onClose: (added: boolean) => void;
}) {
  const t = useT();
  const id = useId();
  const ref = useRef<HTMLDialogElement>(null);
  const exposure = today();
  const form = useForm<ContactValues>({
    ...personValues(),
    mode: 'existing',
    category: 'close',
    setting: '',
    lastExposure: exposure,
    followUpUntil: plusDays(exposure, followUpDays),
    measure: '',
    measureUntil: '',
    legalBasis: '§30 IfSG',
    notes: '',
  });
  const [chosen, setChosen] = useState<PersonListItem | null>(null);
  const [missing, setMissing] = useState(false);
  useEffect(() => {
    const before = document.activeElement as HTMLElement | null;
    const d = ref.current;
    if (d && !d.open) d.showModal();
    return () => {
      if (before?.isConnected) before.focus();
    };
  }, []);
  const v = form.values;
  const opt = ` ${t('form.optional')}`;
  return (
    <dialog
      ref={ref}
      aria-labelledby={`${id}-title`}
      className="dialog"
      onCancel={(e) => {
        e.preventDefault();
        onClose(false);
      }}
    >
      <h2 id={`${id}-title`}>{t('cases.contacts.add')}</h2>
      <SelectField
        label={t('cases.contacts.mode')}
        value={v.mode}
        onChange={(m) => form.set('mode', m)}
        options={[
          { value: 'existing' as const, label: t('cases.contacts.existing') },
          { value: 'new' as const, label: t('cases.contacts.newPerson') },
        ]}
      />
      {v.mode === 'existing' ? (
        <FindFile
          departmentId={departmentId}
          chosen={chosen}
          onChoose={(p) => {
            setChosen(p);
            setMissing(false);
          }}
        />
      ) : null}
      <form
        noValidate
        className="stacked"
        aria-labelledby={`${id}-title`}
        onSubmit={form.onSubmit(async (x) => {
          if (x.mode === 'existing' && !chosen) {
            setMissing(true);
            return;
          }
          await api('POST', `/api/cases/${caseId}/contacts`, {
            ...(x.mode === 'existing' ? { personId: chosen!.id } : { person: personBody(x) }),
            category: x.category,
            ...(x.setting ? { setting: x.setting } : {}),
            lastExposure: x.lastExposure,
            ...(x.followUpUntil ? { followUpUntil: x.followUpUntil } : {}),
            ...(x.measure
              ? {
                  measure: {
                    kind: x.measure,
                    ...(x.measureUntil ? { until: x.measureUntil } : {}),
                    legalBasis: x.legalBasis,
                  },
                }
              : {}),
            ...(x.notes.trim() ? { notes: x.notes.trim() } : {}),
          });
          onClose(true);
        })}
      >
        {v.mode === 'new' && <PersonFields form={{ ...form, set: (k, x) => form.set(k, x as never) }} />}
        {missing && (
          <p role="alert" className="form-error">
            {t('cases.contacts.chooseFirst')}
          </p>
        )}
        <SelectField
          label={t('field.ifsg-contact.category')}
          value={v.category}
          onChange={(x) => form.set('category', x)}
          options={CATEGORIES.map((c) => ({ value: c, label: t(categoryLabel(c)) }))}
          error={form.fieldError('category')}
        />
        <SelectField
          label={t('field.ifsg-contact.setting') + opt}
          value={v.setting}
          onChange={(x) => form.set('setting', x)}
          options={[
            { value: '' as const, label: t('contact.setting.none') },
            ...SETTINGS.map((s) => ({ value: s, label: t(settingLabel(s)) })),
          ]}
        />
        <DateField
          label={t('field.ifsg-contact.lastExposure')}
          value={v.lastExposure}
          required
          error={form.fieldError('lastExposure')}
          onChange={(x) => {
            // The end follows the exposure while it is the prefilled one.
            if (v.followUpUntil === plusDays(v.lastExposure, followUpDays) || !v.followUpUntil)
              form.set('followUpUntil', plusDays(x, followUpDays));
            form.set('lastExposure', x);
          }}
        />
        <DateField
          label={t('field.ifsg-contact.followUpUntil')}
          value={v.followUpUntil}
          onChange={(x) => form.set('followUpUntil', x)}
          error={form.fieldError('followUpUntil')}
        />
        <p className="hint">{t('cases.contacts.followUpHint', { days: followUpDays })}</p>
        <SelectField
          label={t('field.ifsg-contact.measure')}
          value={v.measure}
          onChange={(x) => {
            form.set('measure', x);
            form.set('legalBasis', x === 'observation' ? '§29 IfSG' : '§30 IfSG');
            if (x && !v.measureUntil) form.set('measureUntil', v.followUpUntil);
          }}
          options={[
            { value: '' as const, label: t('cases.contacts.measureNone') },
            { value: 'quarantine' as const, label: t('cases.measure.quarantine') },
            { value: 'observation' as const, label: t('cases.measure.observation') },
          ]}
        />
        {v.measure && (
          <>
            <DateField
              label={t('cases.contacts.measureUntil') + opt}
              value={v.measureUntil}
              onChange={(x) => form.set('measureUntil', x)}
              error={form.fieldError('measure.until')}
            />
            <TextField
              label={t('cases.contacts.legalBasis')}
              value={v.legalBasis}
              onChange={(x) => form.set('legalBasis', x)}
              error={form.fieldError('measure.legalBasis')}
              required
            />
          </>
        )}
        <TextField
          label={t('field.ifsg-contact.notes') + opt}
          value={v.notes}
          onChange={(x) => form.set('notes', x)}
          multiline
        />
        <FormError
          form={form}
          fields={[
            'person',
            'familyName',
            'givenName',
            'birthDate',
            'category',
            'lastExposure',
            'followUpUntil',
            'measure',
          ]}
        />
        <div className="actions">
          <button type="submit" className="primary" disabled={form.busy}>
            {t('cases.contacts.add')}
          </button>
          <button type="button" onClick={() => onClose(false)}>
            {t('common.cancel')}
          </button>
        </div>
      </form>
    </dialog>
  );
}

/** Finding a file of the department by name or birth date, and choosing it. */
function FindFile({
  departmentId,
  chosen,
  onChoose,
}: {
  departmentId?: string;
  chosen: PersonListItem | null;
  onChoose: (p: PersonListItem) => void;
}) {
  const t = useT();
  const [q, setQ] = useState('');
  const [hits, setHits] = useState<PersonListItem[] | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const search = async () => {
    setError(null);
    try {
      const found = await api<PersonListItem[]>('GET', `/api/persons?q=${encodeURIComponent(q.trim())}`);
      // Contacts are files of the case's own department (shared files of others are not offered).
      setHits(found.filter((p) => !departmentId || p.departmentId === departmentId));
    } catch (e) {
      if (e instanceof ApiError) setError(e);
      else throw e;
    }
  };
  return (
    <div className="stacked">
      <search>
        <form
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            void search();
          }}
        >
          <TextField label={t('cases.contacts.search')} type="search" value={q} onChange={setQ} />
          <div className="actions">
            <button type="submit">{t('cases.contacts.searchButton')}</button>
          </div>
        </form>
      </search>
      {error && (
        <p role="alert" className="form-error">
          {errorTitle(t, error)}
        </p>
      )}
      {hits &&
        (hits.length === 0 ? (
          <p>{t('cases.contacts.noHits')}</p>
        ) : (
          <ul className="records" aria-label={t('cases.contacts.results')}>
            {hits.map((p) => (
              <li key={p.id}>
                <span>
                  {p.familyName}, {p.givenName} · {formatDate(p.birthDate)}
                </span>
                <button type="button" className="inline" aria-pressed={chosen?.id === p.id} onClick={() => onChoose(p)}>
                  {t('cases.contacts.choose')}
                  <span className="visually-hidden">
                    {' '}
                    {p.givenName} {p.familyName}
                  </span>
                </button>
              </li>
            ))}
          </ul>
        ))}
      {chosen && (
        <p role="status">{t('cases.contacts.chosen', { name: `${chosen.familyName}, ${chosen.givenName}` })}</p>
      )}
    </div>
  );
}
