// The own account: passkeys (added after the current password, removed after
// a confirmation, never the last second factor), changing the own password
// (with the current one and a code of the second factor), the signed-in
// sessions (this one marked; the others can be ended), and personal API tokens
// for scripts and DICOMweb clients, each for chosen scopes (`admin` with a
// current code). A new token is shown once; the server keeps only its hash.
// Removing a passkey, ending a session, revoking a token and unlinking the
// district account each ask first.
import { useState } from 'react';
import { startRegistration } from '@simplewebauthn/browser';
import type { PublicKeyCredentialCreationOptionsJSON, RegistrationResponseJSON } from '@simplewebauthn/browser';
import { api, ApiError } from '../api/client.ts';
import { setCsrfToken } from '../api/tab-session.ts';
import type { ApiToken, Passkey } from '../api/types.ts';
import { formatDate, formatDateTime, useT } from '../i18n/i18n.ts';
import { Checkbox, FormError, TextField, useForm } from '../ui/form.tsx';
import { TOKEN_SCOPES, type TokenScope } from '../../../src/access/policy.ts';
import { Loaded, useLoad } from '../ui/load.tsx';
import { Table } from '../ui/table.tsx';
import { NewPasswordField } from '../ui/password-field.tsx';
import { useSession } from '../session.tsx';
import { DepartmentSettings } from './department-settings.tsx';
import { useConfirm } from '../ui/confirm.tsx';
import { useNotify } from '../ui/notice.tsx';

export default function AccountScreen() {
  const t = useT();
  const list = useLoad(() => api<ApiToken[]>('GET', '/api/auth/tokens'), []);
  const blank = { name: '', days: '30', code: '', scopes: [] as TokenScope[] };
  const form = useForm(blank);
  const revoke = useForm({});
  const confirm = useConfirm();
  const notify = useNotify();
  const admin = form.values.scopes.includes('admin');
  const toggle = (scope: TokenScope, on: boolean) =>
    form.set('scopes', on ? [...form.values.scopes, scope] : form.values.scopes.filter((x) => x !== scope));
  const [created, setCreated] = useState<{ name: string; token: string } | null>(null);
  return (
    <section>
      <h1>{t('account.title')}</h1>
      <Passkeys />
      <ChangePassword />
      <DepartmentSettings />
      <DistrictAccount />
      <Sessions />
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
            headers={[
              t('tokens.name'),
              t('tokens.scopes'),
              t('tokens.expires'),
              t('tokens.lastUsed'),
              t('common.actions'),
            ]}
            row={(k) => (
              <tr key={k.id}>
                <td>{k.name}</td>
                <td>
                  {k.scopes.map((x) => t(`tokens.scope.${x as TokenScope}`)).join(', ')}
                  {k.legacy && <> ({t('tokens.legacy')})</>}
                </td>
                <td>{formatDate(k.expiresAt)}</td>
                <td>{k.lastUsedAt ? formatDateTime(k.lastUsedAt) : '—'}</td>
                <td>
                  <button
                    type="button"
                    onClick={revoke.onSubmit(async () => {
                      if (
                        !(await confirm.ask({
                          title: t('tokens.revokeConfirm', { name: k.name }),
                          text: t('tokens.revokeConfirmText'),
                          confirm: t('tokens.revokeShort'),
                        }))
                      )
                        return;
                      await api('DELETE', `/api/auth/tokens/${k.id}`);
                      notify(t('tokens.revoked', { name: k.name }));
                      list.reload();
                    })}
                  >
                    {t('tokens.revoke', { name: k.name })}
                  </button>
                </td>
              </tr>
            )}
          />
        )}
      </Loaded>
      <FormError form={revoke} fields={[]} />
      {confirm.dialog}
      <form
        noValidate
        className="stacked panel"
        aria-labelledby="new-token"
        onSubmit={form.onSubmit(async (v) => {
          const r = await api<{ token: string }>('POST', '/api/auth/tokens', {
            name: v.name,
            scopes: v.scopes,
            expiresInDays: Number(v.days),
            ...(v.scopes.includes('admin') ? { code: v.code.replace(/\s/g, '') } : {}),
          });
          setCreated({ name: v.name, token: r.token });
          form.reset(blank);
          list.reload();
        })}
      >
        <h3 id="new-token">{t('tokens.new')}</h3>
        <TextField
          label={t('tokens.name')}
          value={form.values.name}
          onChange={(x) => form.set('name', x)}
          error={form.fieldError('name')}
          hint={t('tokens.nameHint')}
          required
        />
        <fieldset>
          <legend>{t('tokens.scopes')}</legend>
          <p className="hint">{t('tokens.scopesHint')}</p>
          {TOKEN_SCOPES.map((scope) => (
            <Checkbox
              key={scope}
              label={t(`tokens.scope.${scope}`)}
              checked={form.values.scopes.includes(scope)}
              onChange={(x) => toggle(scope, x)}
              name="scopes"
            />
          ))}
        </fieldset>
        <TextField
          label={t('tokens.days')}
          value={form.values.days}
          onChange={(x) => form.set('days', x)}
          inputMode="numeric"
          error={form.fieldError('expiresInDays')}
          required
        />
        {admin && (
          <TextField
            label={t('tokens.adminCode')}
            value={form.values.code}
            onChange={(x) => form.set('code', x)}
            autoComplete="one-time-code"
            inputMode="numeric"
            error={form.fieldError('code')}
            hint={t('tokens.adminCodeHint')}
            required
          />
        )}
        <FormError form={form} fields={['name', 'expiresInDays', 'code']} />
        <button type="submit" className="primary" disabled={form.busy}>
          {t('tokens.create')}
        </button>
      </form>
    </section>
  );
}

interface OwnSession {
  id: string;
  createdAt: string;
  lastSeenAt: string;
  current: boolean;
}

/** The own signed-in sessions; ending this one signs out (the page reloads to the login). */
function Sessions() {
  const t = useT();
  const list = useLoad(() => api<OwnSession[]>('GET', '/api/me/sessions'), []);
  const end = useForm({});
  const confirm = useConfirm();
  const notify = useNotify();
  return (
    <>
      <h2>{t('sessions.title')}</h2>
      <p>{t('sessions.intro')}</p>
      <Loaded state={list}>
        {(sessions) => (
          <Table
            items={sessions}
            none={t('sessions.none')}
            headers={[t('sessions.started'), t('sessions.lastSeen'), t('common.actions')]}
            row={(x) => (
              <tr key={x.id}>
                <td>
                  {formatDateTime(x.createdAt)}
                  {x.current && <strong> ({t('sessions.current')})</strong>}
                </td>
                <td>{formatDateTime(x.lastSeenAt)}</td>
                <td>
                  <button
                    type="button"
                    aria-label={t('sessions.endLabel', { at: formatDateTime(x.createdAt) })}
                    onClick={end.onSubmit(async () => {
                      const at = formatDateTime(x.createdAt);
                      const q = x.current
                        ? {
                            title: t('sessions.endCurrentConfirm'),
                            text: t('sessions.endCurrentConfirmText'),
                            confirm: t('nav.logout'),
                          }
                        : {
                            title: t('sessions.endConfirm', { at }),
                            text: t('sessions.endConfirmText'),
                            confirm: t('sessions.end'),
                          };
                      if (!(await confirm.ask(q))) return;
                      await api('DELETE', `/api/me/sessions/${x.id}`);
                      if (x.current) {
                        // As signing out: every tab's view ends, and a fresh page keeps nothing read.
                        setCsrfToken(null);
                        location.replace('/');
                        return;
                      }
                      notify(t('sessions.ended'));
                      list.reload();
                    })}
                  >
                    {t('sessions.end')}
                  </button>
                </td>
              </tr>
            )}
          />
        )}
      </Loaded>
      <FormError form={end} fields={[]} />
      {confirm.dialog}
    </>
  );
}

function ChangePassword() {
  const t = useT();
  const { me } = useSession();
  const blank = { currentPassword: '', newPassword: '', repeat: '', code: '' };
  const form = useForm(blank);
  const [mismatch, setMismatch] = useState(false);
  const notify = useNotify();
  const v = form.values;
  return (
    <form
      noValidate
      className="stacked panel"
      aria-labelledby="change-password"
      onSubmit={form.onSubmit(async (x) => {
        setMismatch(x.newPassword !== x.repeat);
        if (x.newPassword !== x.repeat) return;
        await api('POST', '/api/me/password', {
          currentPassword: x.currentPassword,
          newPassword: x.newPassword,
          code: x.code.replace(/\s/g, ''),
        });
        form.reset(blank);
        notify(t('password.changed'));
      })}
    >
      <h2 id="change-password">{t('password.change')}</h2>
      <TextField
        label={t('password.current')}
        type="password"
        autoComplete="current-password"
        value={v.currentPassword}
        onChange={(x) => form.set('currentPassword', x)}
        error={form.fieldError('currentPassword')}
        required
      />
      <NewPasswordField
        label={t('password.new')}
        value={v.newPassword}
        onChange={(x) => form.set('newPassword', x)}
        context={[me.username, me.displayName]}
        error={form.fieldError('newPassword')}
      />
      <TextField
        label={t('user.passwordRepeat')}
        type="password"
        autoComplete="new-password"
        value={v.repeat}
        onChange={(x) => form.set('repeat', x)}
        error={mismatch ? t('user.passwordMismatch') : undefined}
        required
      />
      <TextField
        label={t('mfa.code')}
        value={v.code}
        onChange={(x) => form.set('code', x)}
        autoComplete="one-time-code"
        inputMode="numeric"
        error={form.fieldError('code')}
        hint={t('mfa.codeHint')}
        required
      />
      <FormError form={form} fields={['currentPassword', 'newPassword', 'code']} />
      <button type="submit" className="primary" disabled={form.busy}>
        {t('password.change')}
      </button>
    </form>
  );
}

/** Linking the own identity at the office's provider (single sign-on), with a current code; shown only where the office offers it. */
function DistrictAccount() {
  const t = useT();
  const state = useLoad(
    () => api<{ linked: boolean; linkedAt?: string; available: boolean }>('GET', '/api/me/sso'),
    [],
  );
  const form = useForm({ code: '' });
  const unlink = useForm({});
  const confirm = useConfirm();
  const notify = useNotify();
  const [justLinked] = useState(() => location.hash === '#sso=linked');
  return (
    <Loaded state={state}>
      {(s) =>
        !s.available && !s.linked ? null : (
          <section className="panel" aria-labelledby="district-account">
            <h2 id="district-account">{t('sso.accountTitle')}</h2>
            {justLinked && s.linked && <p role="status">{t('sso.justLinked')}</p>}
            {s.linked ? (
              <form
                noValidate
                onSubmit={unlink.onSubmit(async () => {
                  if (
                    !(await confirm.ask({
                      title: t('sso.unlinkConfirm'),
                      text: t('sso.unlinkConfirmText'),
                      confirm: t('sso.unlink'),
                    }))
                  )
                    return;
                  await api('DELETE', '/api/me/sso');
                  notify(t('sso.unlinked'));
                  state.reload();
                })}
              >
                <p>{t('sso.accountLinked', { at: formatDateTime(s.linkedAt!) })}</p>
                <FormError form={unlink} fields={[]} />
                <button type="submit" disabled={unlink.busy}>
                  {t('sso.unlink')}
                </button>
                {confirm.dialog}
              </form>
            ) : (
              <form
                noValidate
                className="stacked"
                onSubmit={form.onSubmit(async (v) => {
                  const r = await api<{ redirectTo: string }>('POST', '/api/me/sso', {
                    code: v.code.replace(/\s/g, ''),
                  });
                  location.assign(r.redirectTo);
                })}
              >
                <p>{t('sso.accountNotLinked')}</p>
                <TextField
                  label={t('mfa.code')}
                  value={form.values.code}
                  onChange={(x) => form.set('code', x)}
                  autoComplete="one-time-code"
                  inputMode="numeric"
                  error={form.fieldError('code')}
                  required
                />
                <FormError form={form} fields={['code']} />
                <button type="submit" className="primary" disabled={form.busy}>
                  {t('sso.link')}
                </button>
              </form>
            )}
          </section>
        )
      }
    </Loaded>
  );
}

function Passkeys() {
  const t = useT();
  const list = useLoad(() => api<Passkey[]>('GET', '/api/me/passkeys'), []);
  const blank = { name: '', currentPassword: '' };
  const form = useForm(blank);
  const remove = useForm({});
  const confirm = useConfirm();
  const notify = useNotify();
  const removeError =
    remove.error instanceof ApiError && remove.error.code === 'conflict' ? t('passkeys.lastFactor') : null;
  return (
    <section aria-labelledby="passkeys">
      <h2 id="passkeys">{t('passkeys.title')}</h2>
      <p>{t('passkeys.intro')}</p>
      <Loaded state={list}>
        {(keys) => (
          <Table
            items={keys}
            none={t('passkeys.none')}
            headers={[t('passkeys.name'), t('passkeys.created'), t('passkeys.lastUsed'), t('common.actions')]}
            row={(k) => (
              <tr key={k.id}>
                <td>{k.name}</td>
                <td>{formatDateTime(k.createdAt)}</td>
                <td>{k.lastUsedAt ? formatDateTime(k.lastUsedAt) : '—'}</td>
                <td>
                  <button
                    type="button"
                    onClick={remove.onSubmit(async () => {
                      if (
                        !(await confirm.ask({
                          title: t('passkeys.removeConfirm', { name: k.name }),
                          text: t('passkeys.removeConfirmText'),
                          confirm: t('passkeys.removeShort'),
                        }))
                      )
                        return;
                      await api('DELETE', `/api/me/passkeys/${k.id}`);
                      notify(t('passkeys.removed'));
                      list.reload();
                    })}
                  >
                    {t('passkeys.remove', { name: k.name })}
                  </button>
                </td>
              </tr>
            )}
          />
        )}
      </Loaded>
      {removeError ? (
        <p role="alert" className="form-error">
          {removeError}
        </p>
      ) : (
        <FormError form={remove} fields={[]} />
      )}
      {confirm.dialog}
      <form
        noValidate
        className="stacked panel"
        aria-labelledby="add-passkey"
        onSubmit={form.onSubmit(async (v) => {
          const options = await api<PublicKeyCredentialCreationOptionsJSON>('POST', '/api/me/passkeys/options', {
            currentPassword: v.currentPassword,
          });
          let response: RegistrationResponseJSON;
          try {
            response = await startRegistration({ optionsJSON: options });
          } catch {
            // Cancelled, timed out, or this authenticator holds one of the account's passkeys already.
            throw new Error(t('passkey.ceremonyFailed'));
          }
          const added = await api<Passkey>('POST', '/api/me/passkeys', { name: v.name.trim(), response });
          form.reset(blank);
          notify(t('passkeys.added', { name: added.name }));
          list.reload();
        })}
      >
        <h3 id="add-passkey">{t('passkeys.add')}</h3>
        <TextField
          label={t('passkeys.name')}
          value={form.values.name}
          onChange={(x) => form.set('name', x)}
          error={form.fieldError('name')}
          hint={t('passkeys.nameHint')}
          required
        />
        <TextField
          label={t('password.current')}
          type="password"
          autoComplete="current-password"
          value={form.values.currentPassword}
          onChange={(x) => form.set('currentPassword', x)}
          error={form.fieldError('currentPassword')}
          hint={t('passkeys.passwordHint')}
          required
        />
        {form.error && !(form.error instanceof ApiError) ? (
          <p role="alert" className="form-error">
            {form.error.message}
          </p>
        ) : (
          <FormError form={form} fields={['name', 'currentPassword']} />
        )}
        <button type="submit" className="primary" disabled={form.busy}>
          {t('passkeys.add')}
        </button>
      </form>
    </section>
  );
}
