// The application: the setup wizard on first run, the login screen without a
// session, and the signed-in shell with its screens otherwise.
import { useCallback, useEffect, useState } from 'react';
import { api, ApiError, hasCsrfToken } from './api/client.ts';
import type { Me } from './api/types.ts';
import { useT } from './i18n/i18n.ts';
import { navigate, usePath } from './router.tsx';
import { SetupWizard } from './screens/setup-wizard.tsx';
import { LoginScreen } from './screens/login-screen.tsx';
import { Shell } from './shell.tsx';

export function App() {
  const t = useT();
  const path = usePath();
  const [me, setMe] = useState<Me | null | 'loading'>('loading');

  const reload = useCallback(async () => {
    try {
      // Without this tab's CSRF token the session could read but not change anything: sign in again.
      setMe(hasCsrfToken() ? await api<Me>('GET', '/api/me') : null);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) setMe(null);
      else throw e;
    }
  }, []);

  const onSetup = path === '/setup';
  useEffect(() => {
    if (!onSetup) void reload();
  }, [reload, onSetup]);

  if (onSetup) return <SetupWizard onFinished={() => void reload().then(() => navigate('/admin', true))} />;
  if (me === 'loading') return <p className="loading">{t('common.loading')}</p>;
  if (!me) return <LoginScreen onSignedIn={() => void reload()} />;
  return <Shell me={me} reload={reload} />;
}
