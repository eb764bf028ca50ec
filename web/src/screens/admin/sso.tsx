// The office's single sign-on with the district's identity provider. The client
// secret is only ever sent, never shown; every change is audited by the server.
import { api } from '../../api/client.ts';
import { useT } from '../../i18n/i18n.ts';
import { Checkbox, FormError, TextField, useForm } from '../../ui/form.tsx';
import { Loaded, useLoad } from '../../ui/load.tsx';
import { useNotify } from '../../ui/notice.tsx';

interface SsoSettings {
  configured: boolean;
  redirectUri: string;
  issuer?: string;
  clientId?: string;
  subjectClaim?: string;
  acrValues?: string[];
  amrValues?: string[];
  enabled?: boolean;
}

const words = (s: string) => s.split(/\s+/).filter(Boolean);

export function SsoSettingsForm() {
  const state = useLoad(() => api<SsoSettings>('GET', '/api/admin/sso'), []);
  return <Loaded state={state}>{(s) => <Form s={s} onSaved={state.reload} />}</Loaded>;
}

function Form({ s, onSaved }: { s: SsoSettings; onSaved: () => void }) {
  const t = useT();
  const notify = useNotify();
  const form = useForm({
    issuer: s.issuer ?? '',
    clientId: s.clientId ?? '',
    clientSecret: '',
    subjectClaim: s.subjectClaim ?? 'sub',
    acrValues: (s.acrValues ?? []).join(' '),
    amrValues: (s.amrValues ?? []).join(' '),
    enabled: s.enabled ?? true,
  });
  const v = form.values;
  return (
    <form
      noValidate
      className="stacked panel"
      aria-labelledby="sso-settings"
      onSubmit={form.onSubmit(async (x) => {
        await api('PUT', '/api/admin/sso', {
          issuer: x.issuer,
          clientId: x.clientId,
          ...(x.clientSecret ? { clientSecret: x.clientSecret } : {}),
          subjectClaim: x.subjectClaim,
          acrValues: words(x.acrValues),
          amrValues: words(x.amrValues),
          enabled: x.enabled,
        });
        form.set('clientSecret', '');
        notify(t('sso.saved'));
        onSaved();
      })}
    >
      <h2 id="sso-settings">{t('sso.adminTab')}</h2>
      <p>{t('sso.adminIntro', { uri: s.redirectUri })}</p>
      <TextField
        label={t('sso.issuer')}
        value={v.issuer}
        onChange={(x) => form.set('issuer', x)}
        error={form.fieldError('issuer')}
        required
      />
      <TextField
        label={t('sso.clientId')}
        value={v.clientId}
        onChange={(x) => form.set('clientId', x)}
        error={form.fieldError('clientId')}
        required
      />
      <TextField
        label={t('sso.clientSecret')}
        type="password"
        autoComplete="off"
        value={v.clientSecret}
        onChange={(x) => form.set('clientSecret', x)}
        error={form.fieldError('clientSecret')}
        hint={t('sso.clientSecretHint')}
      />
      <TextField
        label={t('sso.subjectClaim')}
        value={v.subjectClaim}
        onChange={(x) => form.set('subjectClaim', x)}
        error={form.fieldError('subjectClaim')}
        hint={t('sso.subjectClaimHint')}
      />
      <TextField
        label={t('sso.acrValues')}
        value={v.acrValues}
        onChange={(x) => form.set('acrValues', x)}
        error={form.fieldError('acrValues')}
        hint={t('sso.valuesHint')}
      />
      <TextField
        label={t('sso.amrValues')}
        value={v.amrValues}
        onChange={(x) => form.set('amrValues', x)}
        error={form.fieldError('amrValues')}
        hint={t('sso.valuesHint')}
      />
      <Checkbox label={t('sso.enabled')} checked={v.enabled} onChange={(x) => form.set('enabled', x)} />
      <FormError
        form={form}
        fields={['issuer', 'clientId', 'clientSecret', 'subjectClaim', 'acrValues', 'amrValues']}
      />
      <button type="submit" className="primary" disabled={form.busy}>
        {t('sso.save')}
      </button>
    </form>
  );
}
