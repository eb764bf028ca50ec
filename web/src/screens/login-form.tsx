// Password, then the second factor (enrolling it on first login). Used by the
// login screen, by the setup wizard and by the re-login dialog of an expired session.
import { useState } from 'react';
import { api } from '../api/client.ts';
import { setCsrfToken } from '../api/tab-session.ts';
import type { LoginStep } from '../api/types.ts';
import { useT } from '../i18n/i18n.ts';
import { FormError, TextField, useForm } from '../ui/form.tsx';
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
        <FormError form={creds} fields={[]} />
        <button type="submit" className="primary" disabled={creds.busy}>
          {t('login.next')}
        </button>
      </form>
    );
  }

  return (
    <form
      className="login-form"
      noValidate
      onSubmit={mfa.onSubmit(async (v) => {
        const done = await api<{ csrfToken: string }>('POST', '/api/auth/mfa', { challenge: step.challenge, code: v.code.replace(/\s/g, '') });
        setCsrfToken(done.csrfToken);
        onDone();
      })}
    >
      {step.mfa === 'enroll' && step.totp && <TotpEnrolment uri={step.totp.uri} secret={step.totp.secret} />}
      <TextField
        label={step.mfa === 'enroll' ? t('mfa.confirmCode') : t('mfa.code')}
        value={mfa.values.code}
        onChange={(v) => mfa.set('code', v)}
        autoComplete="one-time-code"
        inputMode="numeric"
        autoFocus
        required
        hint={t('mfa.codeHint')}
      />
      <FormError form={mfa} fields={[]} />
      <div className="actions">
        <button type="submit" className="primary" disabled={mfa.busy}>
          {t('login.signIn')}
        </button>
        <button type="button" onClick={() => setStep(null)}>
          {t('common.back')}
        </button>
      </div>
    </form>
  );
}
