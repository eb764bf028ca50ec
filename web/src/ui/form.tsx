// Form building blocks: labelled fields that show the server's error for their
// own field, and a submit helper that keeps every typed value on failure.
import { useId, useState, type FormEvent, type ReactNode } from 'react';
import { ApiError } from '../api/client.ts';
import { useT, type MessageKey } from '../i18n/i18n.ts';

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
      if (!(error instanceof ApiError) || !error.field) return undefined;
      const f = error.field;
      return f === field || f.endsWith(`.${field}`) || f.startsWith(`${field}.`) ? messageOf(error) : undefined;
    },
  };
}

/** The server's detail without its leading `field: `, which the layout already shows. */
export function messageOf(error: ApiError | Error): string {
  if (!(error instanceof ApiError)) return error.message;
  const d = error.problem.detail;
  return error.field && d.startsWith(`${error.field}: `) ? d.slice(error.field.length + 2) : d;
}

/** Errors not tied to a field shown in the form: a translated headline and the server's detail. */
export function FormError({ form, fields }: { form: Pick<FormState<unknown>, 'error' | 'fieldError'>; fields: string[] }) {
  const t = useT();
  const e = form.error;
  if (!e) return null;
  if (e instanceof ApiError && e.field && fields.some((f) => form.fieldError(f))) {
    return (
      <p role="alert" className="form-error">
        {t('form.fixFields')}
      </p>
    );
  }
  return (
    <p role="alert" className="form-error">
      {e instanceof ApiError ? errorTitle(t, e) : t('error.network')}
      {e instanceof ApiError && e.problem.detail !== e.problem.title ? ` ${messageOf(e)}` : ''}
    </p>
  );
}

export function errorTitle(t: ReturnType<typeof useT>, e: ApiError): string {
  const key = `error.${e.code}` as MessageKey;
  const s = t(key);
  return s === key ? e.problem.title : s;
}

/** The end of an edit form: its errors (a stale version explained) and Save / Cancel. */
export function SaveOrCancel({ form, fields, onCancel, submitLabel }: { form: Pick<FormState<unknown>, 'error' | 'fieldError' | 'busy'>; fields: string[]; onCancel: () => void; submitLabel?: string }) {
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
      {children({ id, ...(error ? { 'aria-invalid': true as const } : {}), ...(described ? { 'aria-describedby': described } : {}) })}
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
  type?: 'text' | 'password' | 'date' | 'search' | 'datetime-local';
  required?: boolean;
  autoComplete?: string;
  autoFocus?: boolean;
  inputMode?: 'numeric' | 'text';
  readOnly?: boolean;
  multiline?: boolean;
  name?: string;
}

export function TextField({ label, value, onChange, error, hint, multiline, ...input }: TextFieldProps) {
  return (
    <Field label={label} error={error} hint={hint}>
      {(a) =>
        multiline ? (
          <textarea {...a} name={input.name} value={value} required={input.required} rows={6} onChange={(e) => onChange(e.target.value)} />
        ) : (
          <input {...a} {...input} type={input.type ?? 'text'} value={value} onChange={(e) => onChange(e.target.value)} />
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

export function Checkbox({ label, checked, onChange, name }: { label: string; checked: boolean; onChange: (v: boolean) => void; name?: string }) {
  const id = useId();
  return (
    <div className="checkbox">
      <input id={id} type="checkbox" name={name} checked={checked} onChange={(e) => onChange(e.target.checked)} />
      <label htmlFor={id}>{label}</label>
    </div>
  );
}
