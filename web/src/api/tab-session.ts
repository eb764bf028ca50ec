// What the browser's tabs share of one session, as they share its cookie: the
// CSRF token and when the session was last used. Each tab keeps the token
// (sessionStorage, gone with the tab); a same-origin channel carries the rest.
// A tab opened later asks the others for the token instead of asking the user
// to sign in again, a login hands the new token to every tab, a logout ends
// every tab's view (no other tab keeps showing a file), and work in one tab
// keeps the others from warning that the session is about to end.

const KEY = 'kartei.csrf';
/** How often a busy tab tells the others it is in use: the idle warning counts in minutes. */
const ACTIVITY_EVERY_MS = 15_000;
type Message = { kind: 'ask' } | { kind: 'token'; token: string } | { kind: 'ended' } | { kind: 'active'; at: number };
const channel = typeof BroadcastChannel === 'undefined' ? null : new BroadcastChannel('kartei.session');
let onChange: ((token: string | null) => void) | null = null;
let lastActivity = Date.now();
let lastTold = 0;

export const csrfToken = (): string | null => sessionStorage.getItem(KEY);

function keep(token: string | null): void {
  if (token) sessionStorage.setItem(KEY, token);
  else sessionStorage.removeItem(KEY);
}

/** After a login (the new token) or a logout (null): this tab and every other. */
export function setCsrfToken(token: string | null): void {
  keep(token);
  channel?.postMessage((token ? { kind: 'token', token } : { kind: 'ended' }) satisfies Message);
}

/** Hears another tab's login or logout; without a token of its own, asks the other tabs for theirs. */
export function followOtherTabs(listener: (token: string | null) => void): () => void {
  onChange = listener;
  if (!csrfToken()) channel?.postMessage({ kind: 'ask' } satisfies Message);
  return () => {
    onChange = null;
  };
}

/** The server saw the session just now (a request of this tab succeeded). */
export function noteActivity(): void {
  lastActivity = Date.now();
  if (lastActivity - lastTold < ACTIVITY_EVERY_MS) return;
  lastTold = lastActivity;
  channel?.postMessage({ kind: 'active', at: lastActivity } satisfies Message);
}

/** When the server last saw the session, from any tab (for the idle warning). */
export const lastSessionActivity = (): number => lastActivity;

channel?.addEventListener('message', (e: MessageEvent<Message>) => {
  const m = e.data;
  if (m.kind === 'active') {
    lastActivity = Math.max(lastActivity, Math.min(m.at, Date.now()));
    return;
  }
  if (m.kind === 'ask') {
    const token = csrfToken();
    if (token) channel.postMessage({ kind: 'token', token } satisfies Message);
    return;
  }
  const token = m.kind === 'token' ? m.token : null;
  if (token === csrfToken()) return;
  keep(token);
  onChange?.(token);
});
