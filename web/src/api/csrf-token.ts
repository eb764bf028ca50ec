// This session's CSRF token. Each tab keeps it (sessionStorage, gone with the
// tab) and the tabs of one browser share it over a same-origin channel, as they
// share the session cookie: a tab opened later asks the others for it instead of
// asking the user to sign in again, a login hands the new token to every tab,
// and a logout ends every tab's view, so no other tab keeps showing a file.

const KEY = 'kartei.csrf';
type Message = { kind: 'ask' } | { kind: 'token'; token: string } | { kind: 'ended' };
const channel = typeof BroadcastChannel === 'undefined' ? null : new BroadcastChannel('kartei.session');
let onChange: ((token: string | null) => void) | null = null;

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

channel?.addEventListener('message', (e: MessageEvent<Message>) => {
  const m = e.data;
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
