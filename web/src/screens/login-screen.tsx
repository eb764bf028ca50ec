import { useEffect, useState } from 'react';
import { api } from '../api/client.ts';
import { useT } from '../i18n/i18n.ts';
import { LanguageSwitch } from '../ui/language-switch.tsx';
import { LoginForm } from './login-form.tsx';

export function LoginScreen({ onSignedIn }: { onSignedIn: () => void }) {
  const t = useT();
  // Whether the installation offers single sign-on (the server says nothing more); the office comes from the link, if any.
  const [sso, setSso] = useState(false);
  useEffect(() => {
    api<{ available: boolean }>('GET', '/api/auth/sso').then(
      (r) => setSso(r.available),
      () => setSso(false),
    );
  }, []);
  const office = new URLSearchParams(location.search).get('office');
  return (
    <main className="narrow" id="main">
      <div className="login-head">
        <h1>{t('app.name')}</h1>
        <LanguageSwitch />
      </div>
      {sso && (
        <p>
          <a
            className="button primary"
            href={`/api/auth/sso/start${office ? `?office=${encodeURIComponent(office)}` : ''}`}
          >
            {t('sso.signIn')}
          </a>
        </p>
      )}
      <p>{sso ? t('sso.or') : t('login.intro')}</p>
      <LoginForm onDone={onSignedIn} />
    </main>
  );
}
