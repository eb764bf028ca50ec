// The own account: personal API tokens for scripts and DICOMweb clients. A new
// token is shown once; the server keeps only its hash.
import { useState } from 'react';
import { api } from '../api/client.ts';
import type { ApiToken } from '../api/types.ts';
import { formatDate, formatDateTime, useT } from '../i18n/i18n.ts';
import { FormError, TextField, useForm } from '../ui/form.tsx';
import { Loaded, useLoad } from '../ui/load.tsx';
import { Table } from '../ui/table.tsx';

export default function AccountScreen() {
  const t = useT();
  const list = useLoad(() => api<ApiToken[]>('GET', '/api/auth/tokens'), []);
  const form = useForm({ name: '', days: '90' });
  const revoke = useForm({});
  const [created, setCreated] = useState<{ name: string; token: string } | null>(null);
  return (
    <section>
      <h1>{t('account.title')}</h1>
      <h2>{t('tokens.title')}</h2>
      <p>{t('tokens.intro')}</p>
      {created && (
        <div className="panel" role="status">
          <p>{t('tokens.createdOnce', { name: created.name })}</p>
          <code className="secret">{created.token}</code>
        </div>
      )}
      <Loaded state={list}>
        {(tokens) => (
          <Table
            items={tokens}
            none={t('tokens.none')}
            headers={[t('tokens.name'), t('tokens.expires'), t('tokens.lastUsed'), t('common.actions')]}
            row={(k) => (
              <tr key={k.id}>
                <td>{k.name}</td>
                <td>{formatDate(k.expiresAt)}</td>
                <td>{k.lastUsedAt ? formatDateTime(k.lastUsedAt) : '—'}</td>
                <td>
                  <button type="button" onClick={revoke.onSubmit(async () => (await api('DELETE', `/api/auth/tokens/${k.id}`), list.reload()))}>
                    {t('tokens.revoke', { name: k.name })}
                  </button>
                </td>
              </tr>
            )}
          />
        )}
      </Loaded>
      <FormError form={revoke} fields={[]} />
      <form
        noValidate
        className="stacked panel"
        aria-labelledby="new-token"
        onSubmit={form.onSubmit(async (v) => {
          const r = await api<{ token: string }>('POST', '/api/auth/tokens', { name: v.name, expiresInDays: Number(v.days) });
          setCreated({ name: v.name, token: r.token });
          form.reset({ name: '', days: '90' });
          list.reload();
        })}
      >
        <h3 id="new-token">{t('tokens.new')}</h3>
        <TextField label={t('tokens.name')} value={form.values.name} onChange={(x) => form.set('name', x)} error={form.fieldError('name')} hint={t('tokens.nameHint')} required />
        <TextField label={t('tokens.days')} value={form.values.days} onChange={(x) => form.set('days', x)} inputMode="numeric" error={form.fieldError('expiresInDays')} required />
        <FormError form={form} fields={['name', 'expiresInDays']} />
        <button type="submit" className="primary" disabled={form.busy}>
          {t('tokens.create')}
        </button>
      </form>
    </section>
  );
}
