// Asking before anything is destroyed or ended: a small modal alert dialog that
// names what happens ("Benutzer X deaktivieren? …"), with the harmless choice
// focused first. Escape or "Abbrechen" cancel; nothing happens until "yes".
import { useEffect, useId, useRef, useState, type ReactNode } from 'react';
import { useT } from '../i18n/i18n.ts';

export interface Question {
  /** The question itself, naming the thing: "Benutzer Petra deaktivieren?" */
  title: string;
  /** What follows from it: "Sie kann sich danach nicht mehr anmelden." */
  text: string;
  /** The button that does it: "Deaktivieren". */
  confirm: string;
}

/** `ask(question)` resolves true only when the person confirms; render `dialog` somewhere in the screen. */
export function useConfirm(): { ask: (q: Question) => Promise<boolean>; dialog: ReactNode } {
  const [open, setOpen] = useState<{ q: Question; answer: (yes: boolean) => void } | null>(null);
  const ask = (q: Question) =>
    new Promise<boolean>((resolve) =>
      setOpen({
        q,
        answer: (yes) => {
          setOpen(null);
          resolve(yes);
        },
      }),
    );
  return { ask, dialog: open ? <ConfirmDialog question={open.q} answer={open.answer} /> : null };
}

function ConfirmDialog({ question, answer }: { question: Question; answer: (yes: boolean) => void }) {
  const t = useT();
  const id = useId();
  const ref = useRef<HTMLDialogElement>(null);
  const cancel = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    const before = document.activeElement as HTMLElement | null;
    const d = ref.current;
    if (d && !d.open) d.showModal();
    cancel.current?.focus();
    // The focus goes back to the button that asked, if it is still there.
    return () => {
      if (before?.isConnected) before.focus();
    };
  }, []);
  return (
    <dialog
      ref={ref}
      role="alertdialog"
      aria-modal="true"
      aria-labelledby={`${id}-title`}
      aria-describedby={`${id}-text`}
      className="confirm"
      onCancel={(e) => {
        e.preventDefault();
        answer(false);
      }}
    >
      <h2 id={`${id}-title`}>{question.title}</h2>
      <p id={`${id}-text`}>{question.text}</p>
      <div className="actions">
        <button type="button" ref={cancel} onClick={() => answer(false)}>
          {t('common.cancel')}
        </button>
        <button type="button" className="danger" onClick={() => answer(true)}>
          {question.confirm}
        </button>
      </div>
    </dialog>
  );
}
