// The enrolment link's page: the person chooses their own password (nobody
// else ever knows it), then signs in and enrols the second factor. The token
// comes in the address's fragment, which never reaches a server log, and
// leaves the address bar once it is used.
import { useState } from 'react';
import { api, ApiError } from '../api/client.ts';
import { useT } from '../i18n/i18n.ts';
import { navigate } from '../router.tsx';
import { FormError, TextField, useForm } from '../ui/form.tsx';
import { LanguageSwitch } from '../ui/language-switch.tsx';
import { NewPasswordField } from '../ui/password-field.tsx';
import { useFragmentToken } from '../ui/fragment-token.ts';

export function EnrolScreen() {
  const t = useT();
  const token = useFragmentToken();
  const form = useForm({ password: '', repeat: '' });
  const [mismatch, setMismatch] = useState(false);
  const [done, setDone] = useState(false);
  const linkRefused = form.error instanceof ApiError && form.error.code === 'invalid-enrolment-link';
  return (
    <main className="narrow" id="main">
      <div className="login-head">
        <h1>{t('enrol.title')}</h1>
        <LanguageSwitch />
      </div>
      {!token && !done && (
        <p role="alert" className="form-error">
          {t('enrol.noToken')}
        </p>
      )}
      {done ? (
        <>
          <p role="status">{t('enrol.done')}</p>
          <button type="button" className="primary" onClick={() => navigate('/', true)}>
            {t('enrol.toLogin')}
          </button>
        </>
      ) : (
        token && (
          <form
            className="stacked"
            noValidate
            onSubmit={form.onSubmit(async (v) => {
              setMismatch(v.password !== v.repeat);
              if (v.password !== v.repeat) return;
              await api('POST', '/api/auth/enrol', { token, password: v.password });
              history.replaceState(null, '', '/enrol'); // used up: off the address bar
              setDone(true);
            })}
          >
            <p>{t('enrol.intro')}</p>
            <NewPasswordField
              label={t('user.password')}
              value={form.values.password}
              onChange={(x) => form.set('password', x)}
              context={[]}
              error={form.fieldError('password')}
            />
            <TextField
              label={t('user.passwordRepeat')}
              type="password"
              autoComplete="new-password"
              value={form.values.repeat}
              onChange={(x) => form.set('repeat', x)}
              error={mismatch ? t('user.passwordMismatch') : undefined}
              required
            />
            {linkRefused ? (
              <p role="alert" className="form-error">
                {t('error.invalid-enrolment-link')}
              </p>
            ) : (
              <FormError form={form} fields={['password']} />
            )}
            <button type="submit" className="primary" disabled={form.busy}>
              {t('enrol.submit')}
            </button>
          </form>
        )
      )}
    </main>
  );
}
