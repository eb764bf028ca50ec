import { useState } from 'react';
import { api } from '../../api/client.ts';
import type { AuditEntry } from '../../api/types.ts';
import { useT } from '../../i18n/i18n.ts';
import { FormError, SelectField, TextField, useForm } from '../../ui/form.tsx';
import { DateField } from '../../ui/date-field.tsx';
import { AuditTable } from './audit-table.tsx';
import { ChainStatus } from './chain-status.tsx';
import { isDpo, useSession } from '../../session.tsx';

const PAGE = 100;

interface Filter {
  action: string;
  outcome: '' | 'allowed' | 'denied' | 'error';
  from: string;
  to: string;
}

/** The query string of a filter; dates are whole local days. */
function queryOf(f: Filter, before?: number): string {
  const q = new URLSearchParams({ limit: String(PAGE) });
  if (f.action.trim()) q.set('action', f.action.trim());
  if (f.outcome) q.set('outcome', f.outcome);
  // Text that is no date yet goes as typed: the server names the field, the form marks it.
  const day = (d: string, time: string) => (/^\d{4}-\d{2}-\d{2}$/.test(d) ? new Date(`${d}T${time}`).toISOString() : d);
  if (f.from) q.set('from', day(f.from, '00:00:00'));
  if (f.to) q.set('to', day(f.to, '23:59:59.999'));
  if (before) q.set('before', String(before));
  return q.toString();
}

export function AuditLog() {
  const t = useT();
  const { me } = useSession();
  const form = useForm<Filter>({ action: '', outcome: '', from: '', to: '' });
  const [entries, setEntries] = useState<AuditEntry[] | null>(null);
  const [more, setMore] = useState(false);
  const load = async (f: Filter, before?: number) => {
    const page = await api<AuditEntry[]>('GET', `/api/audit?${queryOf(f, before)}`);
    setEntries((prev) => (before && prev ? [...prev, ...page] : page));
    setMore(page.length === PAGE);
  };
  return (
    <>
      {isDpo(me) && <ChainStatus />}
      <form className="filters" noValidate onSubmit={form.onSubmit((f) => load(f))} aria-label={t('audit.filters')}>
        <TextField
          label={t('audit.action')}
          value={form.values.action}
          onChange={(x) => form.set('action', x)}
          hint={t('audit.actionHint')}
          error={form.fieldError('action')}
        />
        <SelectField
          label={t('audit.outcome')}
          value={form.values.outcome}
          onChange={(x) => form.set('outcome', x)}
          options={[
            { value: '', label: t('audit.any') },
            { value: 'allowed', label: t('outcome.allowed') },
            { value: 'denied', label: t('outcome.denied') },
            { value: 'error', label: t('outcome.error') },
          ]}
        />
        <DateField
          label={t('audit.from')}
          value={form.values.from}
          onChange={(x) => form.set('from', x)}
          error={form.fieldError('from')}
        />
        <DateField
          label={t('audit.to')}
          value={form.values.to}
          onChange={(x) => form.set('to', x)}
          error={form.fieldError('to')}
        />
        <button type="submit" className="primary" disabled={form.busy}>
          {t('audit.show')}
        </button>
      </form>
      <FormError form={form} fields={['action', 'from', 'to']} />
      {entries && entries.length === 0 && <p role="status">{t('audit.none')}</p>}
      {entries && entries.length > 0 && <AuditTable entries={entries} withPerson />}
      {more && entries && (
        <button type="button" onClick={() => void load(form.values, entries[entries.length - 1]!.seq)}>
          {t('audit.older')}
        </button>
      )}
    </>
  );
}
