// The one-time token of a setup or enrolment link, read from the address's
// fragment (which never reaches a server or its log) — also when it is pasted
// into the address bar after the page has opened.
import { useEffect, useState } from 'react';

const read = () => new URLSearchParams(location.hash.slice(1)).get('token') ?? '';

export function useFragmentToken(): string {
  const [token, setToken] = useState(read);
  useEffect(() => {
    const changed = () => {
      const next = read();
      if (next) setToken(next);
    };
    addEventListener('hashchange', changed);
    return () => removeEventListener('hashchange', changed);
  }, []);
  return token;
}
