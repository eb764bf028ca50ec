// Form building blocks: labelled fields that show the server's error for their
// own field (every invalid field at once, worded from its code in the user's
// language), and a submit helper that keeps every typed value on failure.
import { useId, useState, type FormEvent, type ReactNode } from 'react';
import { ApiError } from '../api/client.ts';
import { t as translate, useT, type MessageKey } from '../i18n/i18n.ts';
import { fieldMessage, fieldProblems, namesField } from './problem-text.ts';

export interface FormState<T> {
  values: T;
  set: <K extends keyof T>(key: K, value: T[K]) => void;
  reset: (values: T) => void;
  error: ApiError | Error | null;
  busy: boolean;
  /** Runs `work` on submit; an error stays on screen, the values stay as typed. */
  onSubmit: (work: (values: T) => Promise<void>) => (e: FormEvent) => void;
  /** The server's message for this field (or a sub-field of it), if it named it. */
  fieldError: (field: string) => string | undefined;
}

export function useForm<T>(initial: T): FormState<T> {
  const [values, setValues] = useState(initial);
  const [error, setError] = useState<ApiError | Error | null>(null);
  const [busy, setBusy] = useState(false);
  return {
    values,
    set: (key, value) => setValues((v) => ({ ...v, [key]: value })),
    reset: setValues,
    error,
    busy,
    onSubmit: (work) => (e) => {
      e.preventDefault();
      setBusy(true);
      setError(null);
      work(values)
        .catch((err: unknown) => setError(err instanceof Error ? err : new Error(String(err))))
        .finally(() => setBusy(false));
    },
    fieldError: (field) => {
      if (!(error instanceof ApiError)) return undefined;
      const hit = fieldProblems(error).find((p) => namesField(p.field, field));
      return hit ? fieldMessage(hit) : undefined;
    },
  };
}

/**
 * The form's error above its buttons: "correct the marked fields" when the fields show it, else
 * the translated headline and the messages of invalid fields the form does not show — never the
 * server's English detail.
 */
export function FormError({
  form,
  fields,
}: {
  form: Pick<FormState<unknown>, 'error' | 'fieldError'>;
  fields: string[];
}) {
  const t = useT();
  const e = form.error;
  if (!e) return null;
  if (!(e instanceof ApiError)) {
    return (
      <p role="alert" className="form-error">
        {t('error.network')}
      </p>
    );
  }
  const problems = fieldProblems(e);
  const shown = problems.filter((p) => fields.some((f) => namesField(p.field, f)));
  const rest = problems.filter((p) => !shown.includes(p));
  const headline = shown.length > 0 && rest.length === 0 ? t('form.fixFields') : errorTitle(t, e);
  return (
    <p role="alert" className="form-error">
      {[headline, ...[...new Set(rest.map(fieldMessage))]].join(' ')}
    </p>
  );
}

/** The headline of a refusal by its code; a general German (or English) one for a code the dictionary lacks. */
export function errorTitle(t: ReturnType<typeof useT>, e: ApiError): string {
  const key = `error.${e.code}` as MessageKey;
  const s = t(key);
  return s === key ? translate(e.status >= 500 ? 'error.internal-error' : 'error.bad-request') : s;
}

/** The end of an edit form: its errors (a stale version explained) and Save / Cancel. */
export function SaveOrCancel({
  form,
  fields,
  onCancel,
  submitLabel,
}: {
  form: Pick<FormState<unknown>, 'error' | 'fieldError' | 'busy'>;
  fields: string[];
  onCancel: () => void;
  submitLabel?: string;
}) {
  const t = useT();
  const stale = form.error instanceof ApiError && form.error.code === 'stale-version';
  return (
    <>
      {stale ? (
        <p role="alert" className="form-error">
          {t('error.staleVersion')}
        </p>
      ) : (
        <FormError form={form} fields={fields} />
      )}
      <div className="actions">
        <button type="submit" className="primary" disabled={form.busy}>
          {submitLabel ?? t('common.save')}
        </button>
        <button type="button" onClick={onCancel}>
          {t('common.cancel')}
        </button>
      </div>
    </>
  );
}

interface FieldProps {
  label: string;
  error?: string;
  hint?: ReactNode;
  children: (props: { id: string; 'aria-invalid'?: true; 'aria-describedby'?: string }) => ReactNode;
}

/** A label, the control, a hint and the field's error, wired up for screen readers. */
export function Field({ label, error, hint, children }: FieldProps) {
  const id = useId();
  const described = [hint ? `${id}-hint` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ');
  return (
    <div className={error ? 'field field-invalid' : 'field'}>
      <label htmlFor={id}>{label}</label>
      {children({
        id,
        ...(error ? { 'aria-invalid': true as const } : {}),
        ...(described ? { 'aria-describedby': described } : {}),
      })}
      {hint && (
        <div id={`${id}-hint`} className="hint">
          {hint}
        </div>
      )}
      {error && (
        <div id={`${id}-error`} className="field-error">
          {error}
        </div>
      )}
    </div>
  );
}

interface TextFieldProps {
  label: string;
  value: string;
  onChange: (v: string) => void;
  error?: string;
  hint?: ReactNode;
  type?: 'text' | 'password' | 'search';
  required?: boolean;
  autoComplete?: string;
  autoFocus?: boolean;
  inputMode?: 'numeric' | 'text';
  readOnly?: boolean;
  multiline?: boolean;
  name?: string;
  onBlur?: () => void;
}

export function TextField({ label, value, onChange, error, hint, multiline, ...input }: TextFieldProps) {
  return (
    <Field label={label} error={error} hint={hint}>
      {(a) =>
        multiline ? (
          <textarea
            {...a}
            name={input.name}
            value={value}
            required={input.required}
            rows={6}
            onChange={(e) => onChange(e.target.value)}
          />
        ) : (
          <input
            {...a}
            {...input}
            type={input.type ?? 'text'}
            value={value}
            onChange={(e) => onChange(e.target.value)}
          />
        )
      }
    </Field>
  );
}

interface SelectFieldProps<V extends string> {
  label: string;
  value: V;
  onChange: (v: V) => void;
  options: { value: V; label: string }[];
  error?: string;
  name?: string;
}

export function SelectField<V extends string>({ label, value, onChange, options, error, name }: SelectFieldProps<V>) {
  return (
    <Field label={label} error={error}>
      {(a) => (
        <select {...a} name={name} value={value} onChange={(e) => onChange(e.target.value as V)}>
          {options.map((o) => (
            <option key={o.value} value={o.value}>
              {o.label}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}

export function Checkbox({
  label,
  checked,
  onChange,
  name,
}: {
  label: string;
  checked: boolean;
  onChange: (v: boolean) => void;
  name?: string;
}) {
  const id = useId();
  return (
    <div className="checkbox">
      <input id={id} type="checkbox" name={name} checked={checked} onChange={(e) => onChange(e.target.checked)} />
      <label htmlFor={id}>{label}</label>
    </div>
  );
}
