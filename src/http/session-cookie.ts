// The session cookie: set at a login (by password and code, by passkey, by single sign-on),
// cleared at logout and when the own current session is ended. httpOnly, SameSite=Strict,
// Secure whenever the server is reached over HTTPS.
import type { FastifyReply } from 'fastify';
import { ABSOLUTE_MS } from '../identity/sessions.ts';
import { SESSION_COOKIE } from './access.ts';

/**
 * A browser session cookie (no Max-Age, gone when the browser closes) unless the person asked
 * to stay signed in; then it lasts as long as the session may (12 hours). The server ends the
 * session after 30 idle minutes or 12 hours either way.
 */
export function setSessionCookie(reply: FastifyReply, token: string, secure: boolean, remember: boolean) {
  reply.setCookie(SESSION_COOKIE, token, {
    path: '/',
    httpOnly: true,
    sameSite: 'strict',
    secure,
    ...(remember ? { maxAge: ABSOLUTE_MS / 1000 } : {}),
  });
}

export const clearSessionCookie = (reply: FastifyReply, secure: boolean) =>
  reply.clearCookie(SESSION_COOKIE, { path: '/', httpOnly: true, sameSite: 'strict', secure });
