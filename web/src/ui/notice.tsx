// Success said briefly: one polite live region for the whole signed-in frame.
// `notify("Gespeichert")` shows the message for a few seconds and then clears
// it; it never takes the focus, so the person carries on where they were.
import { createContext, useCallback, useContext, useEffect, useRef, useState, type ReactNode } from 'react';

/** How long a message stays. */
const SHOW_MS = 5_000;

const NoticeContext = createContext<(text: string) => void>(() => undefined);

/** Tells of a success; a no-op outside the signed-in frame. */
export const useNotify = (): ((text: string) => void) => useContext(NoticeContext);

export function NoticeProvider({ children }: { children: ReactNode }) {
  const [message, setMessage] = useState<{ text: string; n: number } | null>(null);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const notify = useCallback((text: string) => {
    clearTimeout(timer.current);
    setMessage((m) => ({ text, n: (m?.n ?? 0) + 1 }));
    timer.current = setTimeout(() => setMessage(null), SHOW_MS);
  }, []);
  useEffect(() => () => clearTimeout(timer.current), []);
  return (
    <NoticeContext.Provider value={notify}>
      {children}
      {/* Always in the page, so screen readers hear what is put into it. */}
      <div role="status" aria-live="polite" className="notice-region">
        {message && (
          <p key={message.n} className="notice-toast">
            {message.text}
          </p>
        )}
      </div>
    </NoticeContext.Provider>
  );
}
