// The one-time token of a setup or enrolment link, read from the address's
// fragment (which never reaches a server or its log) — also when it is pasted
// into the address bar after the page has opened. Other values a link carries
// there (an added office's name, for the setup wizard to show) are read alike.
import { useEffect, useState } from 'react';

const read = (key: string) => new URLSearchParams(location.hash.slice(1)).get(key) ?? '';

/** A value of the fragment (`#token=…&office=…`), kept once the fragment is cleared. */
export function useFragmentValue(key: string): string {
  const [value, setValue] = useState(() => read(key));
  useEffect(() => {
    const changed = () => {
      const next = read(key);
      if (next) setValue(next);
    };
    addEventListener('hashchange', changed);
    return () => removeEventListener('hashchange', changed);
  }, [key]);
  return value;
}

export function useFragmentToken(): string {
  return useFragmentValue('token');
}
