// The signed-in frame: navigation by role, the idle warning, the re-login
// dialog of an ended session (idle here, or any 401): the screen underneath is
// taken out of the page while it shows, and comes back with what was typed once
// the person has signed in again; the success messages; and the routes.
import { lazy, Suspense, useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import { createPortal } from 'react-dom';
import { api, onSessionExpired, request } from './api/client.ts';
import { lastSessionActivity, noteActivity, setCsrfToken } from './api/tab-session.ts';
import type { Me } from './api/types.ts';
import { useT } from './i18n/i18n.ts';
import { Link, match, navigate, usePath } from './router.tsx';
import { SessionContext, approves, isAdmin, isDpo, isMember, linksStudies, readsAudit } from './session.tsx';
import { LanguageSwitch } from './ui/language-switch.tsx';
import { NoticeProvider } from './ui/notice.tsx';
import { LoginForm } from './screens/login-form.tsx';
import { viewerComponent } from './viewer/load-viewer.ts';
import { PersonSearch } from './screens/person-search.tsx';
import { PersonNew } from './screens/person-new.tsx';
import { PersonFile } from './screens/person-file.tsx';
import { RecordScreen } from './screens/record-screen.tsx';
import { UnassignedStudies } from './screens/unassigned-studies.tsx';

const AdminScreen = lazy(() => import('./screens/admin/admin-screen.tsx'));
const AuditScreen = lazy(() => import('./screens/audit/audit-screen.tsx'));
const AccountScreen = lazy(() => import('./screens/account-screen.tsx'));
const SecurityScreen = lazy(() => import('./screens/security-screen.tsx'));
const ApprovalsScreen = lazy(() => import('./screens/approvals-screen.tsx'));
const InfectionHub = lazy(() => import('./screens/infection/infection-hub.tsx'));
const DeskHub = lazy(() => import('./screens/desk/desk-hub.tsx'));

/** The server ends a session idle for 30 minutes; warn 5 minutes before. */
const IDLE_MS = 30 * 60_000;
const WARN_MS = 25 * 60_000;

export function Shell({ me, reload }: { me: Me; reload: () => Promise<void> }) {
  const t = useT();
  const path = usePath();
  const idle = useIdleWarning();
  const relogin = useRelogin(me.id, idle.expired, idle.dismiss);

  useEffect(() => {
    if (path === '/')
      navigate(isMember(me) ? '/persons' : isAdmin(me) ? '/admin' : isDpo(me) ? '/audit' : '/persons', true);
  }, [path, me]);

  const logout = async () => {
    await api('POST', '/api/auth/logout').catch(() => undefined);
    setCsrfToken(null); // and the other tabs end their view too
    // A fresh page: nothing read during the session stays in this tab's memory.
    location.replace('/');
  };

  return (
    <SessionContext.Provider value={{ me, reload }}>
      <NoticeProvider>
        <a className="skip" href="#main">
          {t('nav.skip')}
        </a>
        <header className="top">
          <span className="brand">{t('app.name')}</span>
          <nav aria-label={t('nav.main')}>
            {isMember(me) && <Link to="/persons">{t('nav.persons')}</Link>}
            {isMember(me) && <Link to="/infection/inbox">{t('nav.infection')}</Link>}
            {isMember(me) && <Link to="/desk/tasks">{t('nav.desk')}</Link>}
            {linksStudies(me).length > 0 && (
              <Link to={`/departments/${linksStudies(me)[0]}/unassigned-studies`}>{t('nav.unassigned')}</Link>
            )}
            {isAdmin(me) && <Link to="/admin">{t('nav.admin')}</Link>}
            {readsAudit(me) && <Link to="/audit">{isDpo(me) ? t('audit.title') : t('nav.audit')}</Link>}
            {approves(me) && <Link to="/approvals">{t('nav.approvals')}</Link>}
            {(isAdmin(me) || isDpo(me)) && <Link to="/security">{t('nav.security')}</Link>}
            <Link to="/account">{t('nav.account')}</Link>
          </nav>
          <span className="who">{me.displayName}</span>
          <LanguageSwitch />
          <button type="button" onClick={() => void logout()}>
            {t('nav.logout')}
          </button>
        </header>
        <main id="main" tabIndex={-1}>
          <Curtain closed={relogin.open}>
            <Suspense fallback={<p className="loading">{t('common.loading')}</p>}>{route(path, me)}</Suspense>
          </Curtain>
        </main>
        {idle.warn && !relogin.open && (
          <Dialog title={t('idle.title')}>
            <p>{t('idle.text', { n: Math.max(1, Math.ceil(idle.left / 60_000)) })}</p>
            <div className="actions">
              <button
                type="button"
                className="primary"
                // biome-ignore lint/a11y/noAutofocus: the dialog opens by itself; focus goes to its safe answer (WAI-ARIA dialog pattern)
                autoFocus
                onClick={() => void api('GET', '/api/me').then(idle.dismiss)}
              >
                {t('idle.stay')}
              </button>
              <button type="button" onClick={() => void logout()}>
                {t('nav.logout')}
              </button>
            </div>
          </Dialog>
        )}
        {relogin.open && (
          <Dialog title={t('relogin.title')}>
            <p>{t('relogin.text')}</p>
            <LoginForm username={me.username} onDone={() => void relogin.done()} />
          </Dialog>
        )}
      </NoticeProvider>
    </SessionContext.Provider>
  );
}

function route(path: string, me: Me): ReactNode {
  if (path === '/persons') return <PersonSearch />;
  if (path === '/persons/new') return <PersonNew />;
  let m = match('/persons/:id/studies/:study', path);
  if (m) {
    const Viewer = viewerComponent();
    return <Viewer key={m.study} personId={m.id!} studyUid={m.study!} />;
  }
  m = match('/studies/:study', path);
  if (m) {
    const Viewer = viewerComponent();
    return <Viewer key={m.study} studyUid={m.study!} />;
  }
  m = match('/departments/:id/unassigned-studies', path);
  if (m) return <UnassignedStudies key={m.id} departmentId={m.id!} />;
  m = match('/persons/:id', path);
  if (m) return <PersonFile key={m.id} personId={m.id!} />;
  m = match('/records/:id', path);
  if (m) return <RecordScreen key={m.id} recordId={m.id!} />;
  if ((path === '/infection' || path.startsWith('/infection/')) && isMember(me)) return <InfectionHub path={path} />;
  if ((path === '/desk' || path.startsWith('/desk/')) && isMember(me)) return <DeskHub path={path} />;
  if (path.startsWith('/admin') && isAdmin(me)) return <AdminScreen />;
  if (path.startsWith('/audit') && readsAudit(me)) return <AuditScreen />;
  if (path === '/security' && (isAdmin(me) || isDpo(me))) return <SecurityScreen />;
  if (path === '/approvals' && approves(me)) return <ApprovalsScreen />;
  if (path === '/account') return <AccountScreen />;
  return <NotFound />;
}

function NotFound() {
  const t = useT();
  return (
    <section>
      <h1>{t('notFound.title')}</h1>
      <p>{t('notFound.text')}</p>
    </section>
  );
}

/** A modal dialog: focus stays inside, Escape does not dismiss it. */
function Dialog({ title, children }: { title: string; children: ReactNode }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
  }, []);
  return (
    <dialog ref={ref} aria-labelledby="dialog-title" onCancel={(e) => e.preventDefault()}>
      <h2 id="dialog-title">{title}</h2>
      {children}
    </dialog>
  );
}

/**
 * The screen, taken out of the page while `closed` and put back afterwards. It
 * stays mounted in React (a portal into a container of its own), so a form
 * keeps what was typed and a request waiting for the new sign-in can finish;
 * but nothing of it is in the document to be read meanwhile.
 */
function Curtain({ closed, children }: { closed: boolean; children: ReactNode }) {
  const t = useT();
  const [container] = useState(() => document.createElement('div'));
  // A ref, not an effect: it runs before the screen's own layout effects, so the screen is in the page when they do.
  const place = useCallback(
    (el: HTMLDivElement | null) => {
      if (el && !closed) el.appendChild(container);
      else container.remove();
    },
    [closed, container],
  );
  return (
    <>
      <div ref={place}>{closed && <p className="curtain">{t('relogin.hidden')}</p>}</div>
      {createPortal(children, container)}
    </>
  );
}

/**
 * Opens the re-login dialog when a request meets an ended session (the request
 * repeats afterwards) or when the session has been idle for as long as the
 * server keeps it (`idleExpired`). Only the same person gets the screen back:
 * anyone else signing in there gets a fresh page.
 */
function useRelogin(userId: string, idleExpired: boolean, onIdleDone: () => void) {
  const [waiting, setWaiting] = useState<(() => void)[]>([]);
  useEffect(() => {
    onSessionExpired(() => new Promise<void>((resolve) => setWaiting((w) => [...w, resolve])));
    return () => onSessionExpired(null);
  }, []);
  return {
    open: waiting.length > 0 || idleExpired,
    done: async () => {
      const who = await request('GET', '/api/me', {}, false)
        .then((r) => r.json() as Promise<Me>)
        .catch(() => null);
      if (who?.id !== userId) return location.replace('/');
      // Signed in anew just now: the idle time starts again.
      noteActivity();
      onIdleDone();
      for (const resolve of waiting) resolve();
      setWaiting([]);
    },
  };
}

function useIdleWarning() {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 10_000);
    return () => clearInterval(timer);
  }, []);
  const idleFor = now - lastSessionActivity();
  return {
    warn: idleFor >= WARN_MS && idleFor < IDLE_MS,
    expired: idleFor >= IDLE_MS,
    left: IDLE_MS - idleFor,
    dismiss: () => setNow(Date.now()),
  };
}
