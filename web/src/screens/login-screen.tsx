import { useT } from '../i18n/i18n.ts';
import { LanguageSwitch } from '../ui/language-switch.tsx';
import { LoginForm } from './login-form.tsx';

export function LoginScreen({ onSignedIn }: { onSignedIn: () => void }) {
  const t = useT();
  return (
    <main className="narrow" id="main">
      <div className="login-head">
        <h1>{t('app.name')}</h1>
        <LanguageSwitch />
      </div>
      <p>{t('login.intro')}</p>
      <LoginForm onDone={onSignedIn} />
    </main>
  );
}
