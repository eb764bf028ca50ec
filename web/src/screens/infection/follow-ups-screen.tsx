// The infection hub's follow-up tab (issue 16): the department's worklist of contact persons — due
// today, and overdue with the days missed, the most urgent first — with an inline "Nachverfolgung
// eintragen" form (day, symptoms, how reached, note) and "In Fall umwandeln".
import { useState, type ReactNode } from 'react';
import { api, ApiError } from '../../api/client.ts';
import type { ContactConverted, FollowUpDue } from '../../api/types.ts';
import { formatDate, useT } from '../../i18n/i18n.ts';
import { Link } from '../../router.tsx';
import { FormError, SelectField, TextField, errorTitle, useForm } from '../../ui/form.tsx';
import { DateField } from '../../ui/date-field.tsx';
import { useConfirm } from '../../ui/confirm.tsx';
import { Loaded, useLoad } from '../../ui/load.tsx';
import { Table } from '../../ui/table.tsx';
import { useNotify } from '../../ui/notice.tsx';
import { useDepartmentChoice } from '../../ui/department-choice.tsx';
import { today } from './cases-form.tsx';

export function FollowUpsScreen(_: { rest: string }) {
  const t = useT();
  const { departmentId, chooser } = useDepartmentChoice();
  if (!departmentId) return <p>{t('followUps.noDepartment')}</p>;
  return (
    <section aria-labelledby="follow-ups-title">
      <h2 id="follow-ups-title">{t('followUps.title')}</h2>
      {chooser}
      <Worklist key={departmentId} departmentId={departmentId} />
    </section>
  );
}

function Worklist({ departmentId }: { departmentId: string }) {
  const t = useT();
  const due = useLoad(
    () => api<FollowUpDue[]>('GET', `/api/departments/${departmentId}/follow-ups?when=today`),
    [departmentId],
  );
  const overdue = useLoad(
    () => api<FollowUpDue[]>('GET', `/api/departments/${departmentId}/follow-ups?when=overdue`),
    [departmentId],
  );
  const reload = () => {
    due.reload();
    overdue.reload();
  };
  return (
    <>
      <h3 id="due-today">{t('followUps.today')}</h3>
      <Loaded state={due}>{(items) => <DueTable items={items} kind="today" onChanged={reload} />}</Loaded>
      <h3 id="overdue">{t('followUps.overdue')}</h3>
      <Loaded state={overdue}>{(items) => <DueTable items={items} kind="overdue" onChanged={reload} />}</Loaded>
    </>
  );
}

function DueTable({
  items,
  kind,
  onChanged,
}: {
  items: FollowUpDue[];
  kind: 'today' | 'overdue';
  onChanged: () => void;
}) {
  const t = useT();
  const notify = useNotify();
  const [open, setOpen] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [converted, setConverted] = useState<ContactConverted | null>(null);
  const { ask, dialog } = useConfirm();
  const convert = async (c: FollowUpDue) => {
    const yes = await ask({
      title: t('cases.contacts.convertTitle', { name: `${c.givenName} ${c.familyName}` }),
      text: t('cases.contacts.convertText'),
      confirm: t('cases.contacts.convert'),
    });
    if (!yes) return;
    setError(null);
    try {
      setConverted(await api<ContactConverted>('POST', `/api/contacts/${c.contactRecordId}/convert`));
      notify(t('cases.contacts.converted'));
      onChanged();
    } catch (e) {
      if (e instanceof ApiError) setError(e);
      else throw e;
    }
  };
  const formId = (c: FollowUpDue) => `follow-up-${kind}-${c.contactRecordId}`;
  return (
    <>
      {error && (
        <p role="alert" className="form-error">
          {errorTitle(t, error)}
        </p>
      )}
      {converted && (
        <p role="status" className="banner success">
          {t('cases.contacts.converted')}{' '}
          <Link to={`/infection/cases/${converted.caseRecordId}`}>{t('cases.contacts.openCase')}</Link>
        </p>
      )}
      <Table
        items={items}
        none={kind === 'today' ? t('followUps.noneToday') : t('followUps.noneOverdue')}
        caption={kind === 'today' ? t('followUps.captionToday') : t('followUps.captionOverdue')}
        headers={[
          t('cases.person'),
          t('followUps.day'),
          t('followUps.until'),
          t('followUps.lastEntry'),
          ...(kind === 'overdue' ? [t('followUps.missed')] : []),
          t('followUps.indexCase'),
          t('common.actions'),
        ]}
        row={(c) => (
          <FollowUpRow key={c.contactRecordId} c={c} kind={kind}>
            <td>
              <button
                type="button"
                className="inline"
                aria-expanded={open === c.contactRecordId}
                aria-controls={formId(c)}
                onClick={() => setOpen(open === c.contactRecordId ? null : c.contactRecordId)}
              >
                {t('followUps.record')}
                <span className="visually-hidden">
                  {' '}
                  {c.givenName} {c.familyName}
                </span>
              </button>{' '}
              <button type="button" className="inline" onClick={() => void convert(c)}>
                {t('cases.contacts.convert')}
                <span className="visually-hidden">
                  {' '}
                  {c.givenName} {c.familyName}
                </span>
              </button>
            </td>
          </FollowUpRow>
        )}
      />
      {items
        .filter((c) => c.contactRecordId === open)
        .map((c) => (
          <RecordFollowUp
            key={c.contactRecordId}
            id={formId(c)}
            contact={c}
            onDone={() => {
              setOpen(null);
              notify(t('followUps.recorded'));
              onChanged();
            }}
            onCancel={() => setOpen(null)}
          />
        ))}
      {dialog}
    </>
  );
}

function FollowUpRow({ c, kind, children }: { c: FollowUpDue; kind: 'today' | 'overdue'; children: ReactNode }) {
  const t = useT();
  return (
    <tr>
      <td>
        <Link to={`/persons/${c.personId}`}>
          {c.familyName}, {c.givenName}
        </Link>{' '}
        <span className="hint">{formatDate(c.birthDate)}</span>
      </td>
      <td>{t('followUps.dayOf', { n: c.dayOfPeriod, of: c.periodDays })}</td>
      <td>{formatDate(c.followUpUntil)}</td>
      <td>{c.lastEntryDay ? formatDate(c.lastEntryDay) : t('followUps.never')}</td>
      {kind === 'overdue' && <td>{c.daysMissed}</td>}
      <td>
        <Link to={`/infection/cases/${c.caseRecordId}`}>{t('followUps.indexCase')}</Link>
      </td>
      {children}
    </tr>
  );
}

function RecordFollowUp({
  id,
  contact,
  onDone,
  onCancel,
}: {
  id: string;
  contact: FollowUpDue;
  onDone: () => void;
  onCancel: () => void;
}) {
  const t = useT();
  const form = useForm({
    day: today(),
    symptoms: 'no' as 'no' | 'yes',
    which: '',
    reached: 'phone' as 'phone' | 'in-person' | 'message',
    note: '',
  });
  const v = form.values;
  const opt = ` ${t('form.optional')}`;
  return (
    <form
      id={id}
      noValidate
      className="stacked panel"
      aria-label={t('followUps.recordFor', { name: `${contact.givenName} ${contact.familyName}` })}
      onSubmit={form.onSubmit(async (x) => {
        await api('POST', `/api/contacts/${contact.contactRecordId}/follow-ups`, {
          day: x.day,
          symptoms: x.symptoms === 'yes',
          ...(x.symptoms === 'yes' && x.which.trim() ? { which: x.which.trim() } : {}),
          reached: x.reached,
          ...(x.note.trim() ? { note: x.note.trim() } : {}),
        });
        onDone();
      })}
    >
      <h4>{t('followUps.recordFor', { name: `${contact.givenName} ${contact.familyName}` })}</h4>
      <DateField
        label={t('followUps.dayField')}
        value={v.day}
        onChange={(x) => form.set('day', x)}
        error={form.fieldError('day')}
        required
      />
      <SelectField
        label={t('followUps.symptoms')}
        value={v.symptoms}
        onChange={(x) => form.set('symptoms', x)}
        options={[
          { value: 'no' as const, label: t('followUps.symptoms.no') },
          { value: 'yes' as const, label: t('followUps.symptoms.yes') },
        ]}
      />
      {v.symptoms === 'yes' && (
        <TextField
          label={t('followUps.which') + opt}
          value={v.which}
          onChange={(x) => form.set('which', x)}
          error={form.fieldError('which')}
        />
      )}
      <SelectField
        label={t('followUps.reached')}
        value={v.reached}
        onChange={(x) => form.set('reached', x)}
        options={(['phone', 'in-person', 'message'] as const).map((r) => ({
          value: r,
          label: t(`followUps.reached.${r}`),
        }))}
      />
      <TextField
        label={t('followUps.note') + opt}
        value={v.note}
        onChange={(x) => form.set('note', x)}
        error={form.fieldError('note')}
        multiline
      />
      <FormError form={form} fields={['day', 'which', 'note']} />
      <div className="actions">
        <button type="submit" className="primary" disabled={form.busy}>
          {t('followUps.record')}
        </button>
        <button type="button" onClick={onCancel}>
          {t('common.cancel')}
        </button>
      </div>
    </form>
  );
}
