// Password, then the second factor (enrolling it on first login): a passkey
// when the account has one ("Mit Passkey anmelden"), with the TOTP or recovery
// code as the alternative. Used by the login screen, by the setup wizard and by
// the re-login dialog of an expired session.
import { useState } from 'react';
import { startAuthentication, type AuthenticationResponseJSON } from '@simplewebauthn/browser';
import { api, ApiError } from '../api/client.ts';
import { setCsrfToken } from '../api/tab-session.ts';
import type { LoginStep } from '../api/types.ts';
import { formatDateTime, useT } from '../i18n/i18n.ts';
import { Checkbox, errorTitle, FormError, TextField, useForm } from '../ui/form.tsx';
import { TotpEnrolment } from '../ui/totp-enrolment.tsx';

interface Props {
  /** Fixed when re-authenticating the same user. */
  username?: string;
  /** A password step already taken (the setup wizard signs its new administrator in). */
  start?: LoginStep;
  onDone: () => void;
}

export function LoginForm({ username, start, onDone }: Props) {
  const t = useT();
  const [step, setStep] = useState<LoginStep | null>(start ?? null);
  const creds = useForm({ username: username ?? '', password: '' });
  const mfa = useForm({ code: '' });
  const passkey = useForm({});
  // Off by default: the session cookie ends with the browser unless the person asks otherwise.
  const [remember, setRemember] = useState(false);
  // Shown once after the second step: fresh recovery codes, or that the credentials were reset.
  const [after, setAfter] = useState<{ recoveryCodes?: string[]; credentialsReset?: { at: string } } | null>(null);

  if (after) {
    return (
      <div className="login-form">
        {after.credentialsReset && (
          <p role="alert" className="notice">
            {t('login.credentialsReset', { at: formatDateTime(after.credentialsReset.at) })}
          </p>
        )}
        {after.recoveryCodes && (
          <section className="panel" aria-labelledby="recovery-codes">
            <h2 id="recovery-codes">{t('mfa.recoveryTitle')}</h2>
            <p>{t('mfa.recoveryText')}</p>
            <ul className="recovery-codes">
              {after.recoveryCodes.map((c) => (
                <li key={c}>
                  <code>{c}</code>
                </li>
              ))}
            </ul>
          </section>
        )}
        <button
          type="button"
          className="primary"
          // biome-ignore lint/a11y/noAutofocus: the step replaced the form that held the focus; it goes on to the one way forward
          autoFocus
          onClick={onDone}
        >
          {after.recoveryCodes ? t('mfa.recoveryDone') : t('common.next')}
        </button>
      </div>
    );
  }

  if (!step) {
    return (
      <form
        className="login-form"
        noValidate
        onSubmit={creds.onSubmit(async (v) => setStep(await api<LoginStep>('POST', '/api/auth/login', v)))}
      >
        <TextField
          label={t('login.username')}
          value={creds.values.username}
          onChange={(v) => creds.set('username', v)}
          autoComplete="username"
          readOnly={username !== undefined}
          autoFocus={username === undefined}
          required
        />
        <TextField
          label={t('login.password')}
          type="password"
          value={creds.values.password}
          onChange={(v) => creds.set('password', v)}
          autoComplete="current-password"
          autoFocus={username !== undefined}
          required
        />
        <Checkbox label={t('login.remember')} checked={remember} onChange={setRemember} name="remember" />
        <FormError form={creds} fields={[]} />
        <button type="submit" className="primary" disabled={creds.busy}>
          {t('login.next')}
        </button>
      </form>
    );
  }

  const signedIn = (done: { csrfToken: string; recoveryCodes?: string[]; credentialsReset?: { at: string } }) => {
    setCsrfToken(done.csrfToken);
    if (done.recoveryCodes || done.credentialsReset) setAfter(done);
    else onDone();
  };

  const options = step.mfa === 'enroll' ? undefined : step.webauthn;
  return (
    <div className="login-form">
      {options && (
        <form
          className="stacked"
          noValidate
          onSubmit={passkey.onSubmit(async () => {
            let response: AuthenticationResponseJSON;
            try {
              response = await startAuthentication({ optionsJSON: options });
            } catch {
              // Cancelled, timed out, no such authenticator here: the browser says no more than that.
              throw new Error(t('passkey.ceremonyFailed'));
            }
            signedIn(
              await api<{ csrfToken: string; credentialsReset?: { at: string } }>('POST', '/api/auth/webauthn', {
                challenge: step.challenge,
                response,
                ...(remember ? { remember: true } : {}),
              }),
            );
          })}
        >
          <button
            type="submit"
            className="primary"
            disabled={passkey.busy}
            // biome-ignore lint/a11y/noAutofocus: the login's first field, as the code field is without a passkey: the sign-in starts here
            autoFocus
          >
            {t('passkey.signIn')}
          </button>
          {passkey.error && (
            <p role="alert" className="form-error">
              {passkey.error instanceof ApiError ? <FormErrorText error={passkey.error} /> : passkey.error.message}
            </p>
          )}
        </form>
      )}
      <form
        className="stacked"
        noValidate
        onSubmit={mfa.onSubmit(async (v) => {
          signedIn(
            await api<{ csrfToken: string; recoveryCodes?: string[]; credentialsReset?: { at: string } }>(
              'POST',
              '/api/auth/mfa',
              { challenge: step.challenge, code: v.code.replace(/\s/g, ''), ...(remember ? { remember: true } : {}) },
            ),
          );
        })}
      >
        {options && <p>{t('passkey.orCode')}</p>}
        {step.mfa === 'enroll' && step.totp && <TotpEnrolment uri={step.totp.uri} secret={step.totp.secret} />}
        <TextField
          label={step.mfa === 'enroll' ? t('mfa.confirmCode') : t('mfa.code')}
          value={mfa.values.code}
          onChange={(v) => mfa.set('code', v)}
          autoComplete="one-time-code"
          inputMode={step.mfa === 'enroll' ? 'numeric' : 'text'}
          autoFocus={!options}
          required
          hint={step.mfa === 'enroll' ? t('mfa.codeHint') : t('mfa.codeHintRecovery')}
        />
        <FormError form={mfa} fields={[]} />
        <div className="actions">
          <button type="submit" className={options ? undefined : 'primary'} disabled={mfa.busy}>
            {t('login.signIn')}
          </button>
          <button type="button" onClick={() => setStep(null)}>
            {t('common.back')}
          </button>
        </div>
      </form>
    </div>
  );
}

function FormErrorText({ error }: { error: ApiError }) {
  const t = useT();
  return <>{errorTitle(t, error)}</>;
}
