// The application: the setup wizard on first run, the login screen without a
// session, and the signed-in shell with its screens otherwise. It follows the
// browser's other tabs: their login signs this one in, their logout ends it.
import { useCallback, useEffect, useRef, useState } from 'react';
import { api, ApiError } from './api/client.ts';
import { csrfToken, followOtherTabs } from './api/tab-session.ts';
import type { Me } from './api/types.ts';
import { useT } from './i18n/i18n.ts';
import { navigate, usePath } from './router.tsx';
import { SetupWizard } from './screens/setup-wizard.tsx';
import { LoginScreen } from './screens/login-screen.tsx';
import { EnrolScreen } from './screens/enrol-screen.tsx';
import { SsoScreen } from './screens/sso-screen.tsx';
import { Shell } from './shell.tsx';

export function App() {
  const t = useT();
  const path = usePath();
  const [me, setMe] = useState<Me | null | 'loading'>('loading');
  const signedInAs = useRef<string | null>(null);

  const reload = useCallback(async () => {
    try {
      // Without the CSRF token the session could read but not change anything: sign in again.
      const next = csrfToken() ? await api<Me>('GET', '/api/me') : null;
      // Someone else signed in in another tab: a fresh page, so nothing of this user's stays.
      if (next && signedInAs.current && next.id !== signedInAs.current) return location.replace('/');
      signedInAs.current = next?.id ?? null;
      setMe(next);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) setMe(null);
      else throw e;
    }
  }, []);

  const onSetup = path === '/setup';
  // The enrolment link's page needs no session, and shows none.
  const onEnrol = path === '/enrol';
  // The end of a single sign-on: it takes over the new session's CSRF token itself.
  const onSso = path === '/sso';
  useEffect(() => {
    if (!onSetup && !onEnrol && !onSso) void reload();
  }, [reload, onSetup, onEnrol, onSso]);
  useEffect(() => followOtherTabs((token) => (token ? void reload() : location.replace('/'))), [reload]);

  if (onEnrol) return <EnrolScreen />;
  if (onSso) return <SsoScreen />;
  if (onSetup) return <SetupWizard onFinished={() => void reload().then(() => navigate('/admin', true))} />;
  if (me === 'loading') return <p className="loading">{t('common.loading')}</p>;
  if (!me) return <LoginScreen onSignedIn={() => void reload()} />;
  return <Shell me={me} reload={reload} />;
}
