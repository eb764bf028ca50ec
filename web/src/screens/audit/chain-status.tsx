// The audit chain's state for the DPO: checked on request, as the check reads the whole chain.
import { useState } from 'react';
import { api } from '../../api/client.ts';
import type { AuditStatus } from '../../api/types.ts';
import { formatDateTime, useT } from '../../i18n/i18n.ts';
import { FormError, useForm } from '../../ui/form.tsx';

export function ChainStatus() {
  const t = useT();
  const [status, setStatus] = useState<AuditStatus | null>(null);
  const form = useForm({});
  return (
    <div className="panel" aria-live="polite">
      <form
        className="heading-row"
        noValidate
        onSubmit={form.onSubmit(async () => setStatus(await api<AuditStatus>('GET', '/api/audit/status')))}
      >
        <h2>{t('chain.title')}</h2>
        <button type="submit" disabled={form.busy}>
          {form.busy ? t('chain.checking') : t('chain.check')}
        </button>
      </form>
      <FormError form={form} fields={[]} />
      {status && (
        <p className={status.ok ? undefined : 'form-error'}>
          {status.ok
            ? t('chain.ok', { n: status.verifiedUpTo })
            : t('chain.broken', { seq: status.firstBad!.seq, problem: status.firstBad!.problem })}{' '}
          {status.lastCheckpoint
            ? t('chain.checkpoint', { seq: status.lastCheckpoint.seq, at: formatDateTime(status.lastCheckpoint.at) })
            : t('chain.noCheckpoint')}
        </p>
      )}
    </div>
  );
}
