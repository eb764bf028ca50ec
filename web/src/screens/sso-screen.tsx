// Where the server sends the browser after a single sign-on (src/identity/sso.ts):
// `/sso` — a session was made: its CSRF token is fetched once and the app starts;
// `/sso#challenge=…` — the provider proved no second factor: Kartei's own code step;
// `/sso#error=…` — why it failed. The address is cleaned at once.
import { useEffect, useState } from 'react';
import { api } from '../api/client.ts';
import { setCsrfToken } from '../api/tab-session.ts';
import { useT } from '../i18n/i18n.ts';
import { LoginForm } from './login-form.tsx';

export function SsoScreen() {
  const t = useT();
  const [hash] = useState(() => new URLSearchParams(location.hash.slice(1)));
  const challenge = hash.get('challenge');
  const [error, setError] = useState(hash.get('error'));
  useEffect(() => {
    history.replaceState(null, '', '/sso');
    if (challenge || error) return;
    api<{ csrfToken: string }>('GET', '/api/auth/sso/session')
      .then((r) => {
        setCsrfToken(r.csrfToken);
        location.replace('/');
      })
      .catch(() => setError('sso-failed'));
  }, [challenge, error]);

  return (
    <main className="narrow" id="main">
      <h1>{t('app.name')}</h1>
      {challenge ? (
        <>
          <p>{t('sso.codeIntro')}</p>
          <LoginForm start={{ mfa: 'totp', challenge }} onDone={() => location.replace('/')} />
        </>
      ) : error ? (
        <>
          <p role="alert" className="form-error">
            {error === 'sso-not-linked' ? t('sso.notLinked') : t('sso.failed')}
          </p>
          <a href="/">{t('sso.toLogin')}</a>
        </>
      ) : (
        <p className="loading">{t('sso.finishing')}</p>
      )}
    </main>
  );
}
