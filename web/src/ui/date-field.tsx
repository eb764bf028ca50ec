// A date input that takes German typing in every browser locale (a text field with a
// numeric keyboard and the hint TT.MM.JJJJ): the form holds the ISO date once the text is
// one, else the text as typed, which the field marks (and the server refuses) as no date.
import { useEffect, useState } from 'react';
import { useT } from '../i18n/i18n.ts';
import { dateInputText, parseDateInput } from '../i18n/date-input.ts';
import { TextField } from './form.tsx';

interface Props {
  label: string;
  /** ISO `YYYY-MM-DD`, '' or text that is no date yet. */
  value: string;
  onChange: (v: string) => void;
  error?: string;
  required?: boolean;
  name?: string;
}

export function DateField({ label, value, onChange, error, required, name }: Props) {
  const t = useT();
  const [text, setText] = useState(() => dateInputText(value));
  const [left, setLeft] = useState(false);
  // A value set from outside (a reset, a loaded record) replaces the text; the text itself is not a trigger.
  // biome-ignore lint/correctness/useExhaustiveDependencies: the text is read, not watched: typing must not be overwritten by the value
  useEffect(() => {
    if ((parseDateInput(text) ?? text.trim()) !== value) setText(dateInputText(value));
  }, [value]);
  const wrong = left && text.trim() !== '' && parseDateInput(text) === null;
  return (
    <TextField
      label={label}
      value={text}
      name={name}
      inputMode="numeric"
      autoComplete="off"
      required={required}
      hint={t('date.hint')}
      error={wrong ? t('date.invalid') : error}
      onChange={(x) => {
        setText(x);
        setLeft(false);
        onChange(parseDateInput(x) ?? x.trim());
      }}
      onBlur={() => setLeft(true)}
    />
  );
}
