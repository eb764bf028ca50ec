// The office's DEMIS connection: how fetching stands (the certificate's subject and expiry, the
// last and next poll, the last failure in words), "Jetzt abrufen", and the settings. The
// certificate and key come as a PKCS#12 file with its password, or as PEM (one file with both,
// or the key apart); secrets are only ever sent, never shown — the server seals them.
import { api } from '../../api/client.ts';
import type { DemisPollResult, DemisSettings } from '../../../../src/contract/demis.ts';
import { formatDate, formatDateTime, useT, type MessageKey } from '../../i18n/i18n.ts';
import { useSession } from '../../session.tsx';
import { Checkbox, Field, FormError, SelectField, TextField, useForm } from '../../ui/form.tsx';
import { Loaded, useLoad } from '../../ui/load.tsx';
import { useNotify } from '../../ui/notice.tsx';

const FAILURES = ['timeout', 'unauthorized', 'server', 'tls', 'network', 'protocol', 'decrypt', 'import'] as const;
const failureKey = (kind: string | null | undefined): MessageKey =>
  (FAILURES as readonly string[]).includes(kind ?? '')
    ? (`demis.failure.${kind}` as MessageKey)
    : 'demis.failure.protocol';

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/;
const PEM_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]+?-----END [A-Z ]*PRIVATE KEY-----/;

/** A chosen file as the API takes it: PEM text (certificate and/or key) or a PKCS#12 file in base64. */
async function readCredentialFile(file: File): Promise<{ certificate?: string; privateKey?: string; pkcs12?: string }> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  const text = new TextDecoder().decode(bytes);
  if (text.includes('-----BEGIN'))
    return { certificate: PEM_CERT.exec(text)?.[0], privateKey: PEM_KEY.exec(text)?.[0] };
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return { pkcs12: btoa(binary) };
}

export function DemisSettingsForm() {
  const state = useLoad(() => api<DemisSettings>('GET', '/api/admin/demis'), []);
  return <Loaded state={state}>{(s) => <Demis s={s} onChanged={state.reload} />}</Loaded>;
}

function Demis({ s, onChanged }: { s: DemisSettings; onChanged: () => void }) {
  const t = useT();
  const notify = useNotify();
  const { me } = useSession();
  const poll = useForm({});
  const form = useForm({
    tokenUrl: s.tokenUrl ?? '',
    clearingUrl: s.clearingUrl ?? '',
    clientId: s.clientId ?? '',
    clientSecret: '',
    username: s.username ?? '',
    password: '',
    certificate: undefined as string | undefined,
    privateKey: undefined as string | undefined,
    pkcs12: undefined as string | undefined,
    filePassword: '',
    departmentId: s.departmentId ?? me.departments[0]?.id ?? '',
    pollIntervalMinutes: String(s.pollIntervalMinutes ?? 5),
    enabled: s.enabled ?? true,
  });
  const v = form.values;
  return (
    <>
      <h2>{t('demis.title')}</h2>
      <p>{t('demis.intro')}</p>
      {s.configured && (
        <section className="panel" aria-labelledby="demis-status">
          <h3 id="demis-status">{t('demis.status')}</h3>
          <dl>
            <dt>{t('demis.certificate')}</dt>
            <dd>
              {t('demis.certificateUntil', {
                subject: s.certificate?.subject ?? '',
                until: s.certificate ? formatDate(s.certificate.notAfter) : '',
              })}
            </dd>
            <dt>{t('demis.lastPoll')}</dt>
            <dd>
              {s.lastPollAt
                ? s.failures
                  ? t('demis.lastPollFailed', { at: formatDateTime(s.lastPollAt), n: s.failures ?? 0 })
                  : t('demis.lastPollOk', { at: formatDateTime(s.lastPollAt), n: s.lastImported ?? 0 })
                : t('demis.never')}
            </dd>
            {s.failures ? (
              <>
                <dt>{t('demis.lastFailure')}</dt>
                <dd>
                  {t(failureKey(s.lastFailure))} <code>{s.lastError}</code>
                </dd>
              </>
            ) : null}
            <dt>{t('demis.nextPoll')}</dt>
            <dd>{s.enabled && s.nextPollAt ? formatDateTime(s.nextPollAt) : t('demis.off')}</dd>
          </dl>
          <form
            noValidate
            onSubmit={poll.onSubmit(async () => {
              const r = await api<DemisPollResult>('POST', '/api/admin/demis/poll');
              notify(r.ok ? t('demis.polled', { n: r.imported }) : t(failureKey(r.failure)));
              onChanged();
            })}
          >
            <FormError form={poll} fields={[]} />
            <button type="submit" disabled={poll.busy}>
              {t('demis.pollNow')}
            </button>
          </form>
        </section>
      )}
      <form
        noValidate
        className="stacked panel"
        aria-labelledby="demis-settings"
        onSubmit={form.onSubmit(async (x) => {
          const pkcs12 = x.pkcs12 !== undefined;
          await api('PUT', '/api/admin/demis', {
            tokenUrl: x.tokenUrl,
            clearingUrl: x.clearingUrl,
            clientId: x.clientId,
            ...(x.clientSecret ? { clientSecret: x.clientSecret } : {}),
            username: x.username,
            ...(x.password ? { password: x.password } : {}),
            ...(pkcs12 ? { pkcs12: x.pkcs12, pkcs12Password: x.filePassword } : {}),
            ...(x.certificate !== undefined || x.privateKey !== undefined
              ? {
                  certificate: x.certificate ?? '',
                  privateKey: x.privateKey ?? '',
                  ...(x.filePassword ? { keyPassphrase: x.filePassword } : {}),
                }
              : {}),
            departmentId: x.departmentId,
            pollIntervalMinutes: Number(x.pollIntervalMinutes),
            enabled: x.enabled,
          });
          form.set('clientSecret', '');
          form.set('password', '');
          form.set('filePassword', '');
          notify(t('demis.saved'));
          onChanged();
        })}
      >
        <h3 id="demis-settings">{t('demis.settings')}</h3>
        <TextField
          label={t('demis.tokenUrl')}
          value={v.tokenUrl}
          onChange={(x) => form.set('tokenUrl', x)}
          error={form.fieldError('tokenUrl')}
          hint={t('demis.tokenUrlHint')}
          required
        />
        <TextField
          label={t('demis.clearingUrl')}
          value={v.clearingUrl}
          onChange={(x) => form.set('clearingUrl', x)}
          error={form.fieldError('clearingUrl')}
          hint={t('demis.clearingUrlHint')}
          required
        />
        <TextField
          label={t('demis.clientId')}
          value={v.clientId}
          onChange={(x) => form.set('clientId', x)}
          error={form.fieldError('clientId')}
          required
        />
        <TextField
          label={t('demis.clientSecret')}
          type="password"
          autoComplete="off"
          value={v.clientSecret}
          onChange={(x) => form.set('clientSecret', x)}
          error={form.fieldError('clientSecret')}
          hint={s.configured ? t('demis.keepHint') : undefined}
        />
        <TextField
          label={t('demis.username')}
          value={v.username}
          onChange={(x) => form.set('username', x)}
          error={form.fieldError('username')}
          hint={t('demis.usernameHint')}
          required
        />
        <TextField
          label={`${t('demis.password')} ${t('form.optional')}`}
          type="password"
          autoComplete="off"
          value={v.password}
          onChange={(x) => form.set('password', x)}
          error={form.fieldError('password')}
          hint={s.hasPassword ? t('demis.keepHint') : undefined}
        />
        <Field
          label={t('demis.certificateFile')}
          error={form.fieldError('pkcs12') ?? form.fieldError('certificate')}
          hint={
            s.configured ? `${t('demis.certificateFileHint')} ${t('demis.keepHint')}` : t('demis.certificateFileHint')
          }
        >
          {(a) => (
            <input
              {...a}
              type="file"
              accept=".p12,.pfx,.pem,.crt,.cer"
              onChange={(e) => {
                const file = e.target.files?.[0];
                if (file)
                  void readCredentialFile(file).then((c) => {
                    form.set('pkcs12', c.pkcs12);
                    form.set('certificate', c.certificate);
                    if (c.privateKey !== undefined || c.pkcs12 !== undefined) form.set('privateKey', c.privateKey);
                  });
              }}
            />
          )}
        </Field>
        <Field
          label={`${t('demis.keyFile')} ${t('form.optional')}`}
          error={form.fieldError('privateKey')}
          hint={t('demis.keyFileHint')}
        >
          {(a) => (
            <input
              {...a}
              type="file"
              accept=".pem,.key"
              onChange={(e) =>
                void e.target.files?.[0]?.text().then((text) => form.set('privateKey', PEM_KEY.exec(text)?.[0] ?? text))
              }
            />
          )}
        </Field>
        <TextField
          label={`${t('demis.filePassword')} ${t('form.optional')}`}
          type="password"
          autoComplete="off"
          value={v.filePassword}
          onChange={(x) => form.set('filePassword', x)}
          error={form.fieldError('pkcs12Password') ?? form.fieldError('keyPassphrase')}
        />
        <SelectField
          label={t('demis.department')}
          value={v.departmentId}
          onChange={(x) => form.set('departmentId', x)}
          options={me.departments.map((d) => ({ value: d.id, label: d.name }))}
          error={form.fieldError('departmentId')}
        />
        <TextField
          label={t('demis.interval')}
          inputMode="numeric"
          value={v.pollIntervalMinutes}
          onChange={(x) => form.set('pollIntervalMinutes', x)}
          error={form.fieldError('pollIntervalMinutes')}
        />
        <Checkbox label={t('demis.enabled')} checked={v.enabled} onChange={(x) => form.set('enabled', x)} />
        <FormError
          form={form}
          fields={[
            'tokenUrl',
            'clearingUrl',
            'clientId',
            'clientSecret',
            'username',
            'password',
            'pkcs12',
            'certificate',
            'privateKey',
            'pkcs12Password',
            'keyPassphrase',
            'departmentId',
            'pollIntervalMinutes',
          ]}
        />
        <button type="submit" className="primary" disabled={form.busy}>
          {t('demis.save')}
        </button>
      </form>
    </>
  );
}
