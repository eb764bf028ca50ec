// The API client: JSON in and out, the CSRF header on every state change, and
// problem+json turned into an ApiError that names the field. A 401 in a running
// session asks the user to sign in again and then repeats the request, so a
// form's content survives an expired session.
import { csrfToken, noteActivity } from './tab-session.ts';

export interface Problem {
  status: number;
  code: string;
  title: string;
  detail: string;
  field?: string;
  [extra: string]: unknown;
}

export class ApiError extends Error {
  readonly problem: Problem;
  constructor(problem: Problem) {
    super(problem.detail);
    this.problem = problem;
  }
  get status(): number {
    return this.problem.status;
  }
  get code(): string {
    return this.problem.code;
  }
  get field(): string | undefined {
    return this.problem.field;
  }
}

let reauthenticate: (() => Promise<void>) | null = null;

/** Installed by the signed-in shell: resolves once the user has signed in again. */
export function onSessionExpired(handler: (() => Promise<void>) | null): void {
  reauthenticate = handler;
}

const SAFE = new Set(['GET', 'HEAD']);

/** One request in the session: the answer if it succeeded, else an ApiError; for any media type. */
export async function request(
  method: string,
  path: string,
  /** `raw`: bytes sent as they are, with their own media type (a DEMIS bundle uploaded by hand). */
  o: { body?: unknown; accept?: string; raw?: { bytes: Blob; type: string } } = {},
  retry = true,
): Promise<Response> {
  const headers: Record<string, string> = { accept: o.accept ?? 'application/json' };
  if (o.body !== undefined) headers['content-type'] = 'application/json';
  if (o.raw) headers['content-type'] = o.raw.type;
  const csrf = csrfToken();
  if (!SAFE.has(method) && csrf) headers['x-csrf-token'] = csrf;
  const res = await fetch(path, {
    method,
    headers,
    body: o.raw ? o.raw.bytes : o.body === undefined ? undefined : JSON.stringify(o.body),
    credentials: 'same-origin',
  });
  if (res.status === 401 && retry && reauthenticate && !path.startsWith('/api/auth/') && path !== '/api/setup') {
    await reauthenticate();
    return request(method, path, o, false);
  }
  if (!res.ok) throw new ApiError(await problemOf(res));
  if (!path.startsWith('/api/auth/')) noteActivity();
  return res;
}

/** A JSON request; 204 answers undefined. */
export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await request(method, path, { body });
  return (res.status === 204 ? undefined : await res.json()) as T;
}

async function problemOf(res: Response): Promise<Problem> {
  try {
    const p = (await res.json()) as Partial<Problem>;
    return { title: res.statusText, detail: res.statusText, code: 'unknown', ...p, status: res.status };
  } catch {
    return { status: res.status, code: 'unknown', title: res.statusText, detail: res.statusText };
  }
}

/** One page of a paged list: its items and the address of the next page (the answer's `Link: <…>; rel="next"`), if any. */
export async function apiPage<T>(path: string): Promise<{ items: T[]; next: string | null }> {
  const res = await request('GET', path);
  const link = /^<([^>]+)>;\s*rel="next"$/.exec(res.headers.get('link') ?? '');
  return { items: (await res.json()) as T[], next: link ? link[1]! : null };
}
