// The fields of one record type, with the server's error next to each.
import { Checkbox, SelectField, TextField, type FormState } from '../ui/form.tsx';
import { useT } from '../i18n/i18n.ts';
import { DateField } from '../ui/date-field.tsx';
import type { Sensitivity } from '../api/types.ts';
import { RECORD_FORMS, fieldLabel, optionLabel, type FormValues } from './record-fields.ts';

export interface RecordFormValues {
  sensitivity: Sensitivity;
  fields: FormValues;
}

/** `restrictedAllowed`: the policy lets the caller mark this record restricted; otherwise only normal is offered. */
export function RecordFields({
  type,
  form,
  restrictedAllowed,
}: {
  type: string;
  form: FormState<RecordFormValues>;
  restrictedAllowed: boolean;
}) {
  const t = useT();
  const { fields } = form.values;
  const setField = (name: string, v: string | boolean) => form.set('fields', { ...fields, [name]: v });
  return (
    <>
      {(RECORD_FORMS[type] ?? []).map((f) => {
        const label = t(fieldLabel(type, f.name)) + (f.optional ? ` ${t('form.optional')}` : '');
        const error = form.fieldError(`content.${f.name}`);
        if (f.kind === 'bool')
          return (
            <Checkbox
              key={f.name}
              label={label}
              checked={fields[f.name] === true}
              onChange={(v) => setField(f.name, v)}
            />
          );
        if (typeof f.kind === 'object') {
          return (
            <SelectField
              key={f.name}
              label={label}
              value={String(fields[f.name])}
              onChange={(v) => setField(f.name, v)}
              options={f.kind.options.map((o) => ({ value: o, label: o.startsWith('§') ? o : t(optionLabel(o)) }))}
              error={error}
            />
          );
        }
        if (f.kind === 'date')
          return (
            <DateField
              key={f.name}
              label={label}
              value={String(fields[f.name] ?? '')}
              onChange={(v) => setField(f.name, v)}
              error={error}
              required={!f.optional}
            />
          );
        return (
          <TextField
            key={f.name}
            label={label}
            value={String(fields[f.name] ?? '')}
            onChange={(v) => setField(f.name, v)}
            multiline={f.kind === 'long'}
            hint={f.kind === 'codes' ? t('form.codesHint') : undefined}
            error={error}
            required={!f.optional}
          />
        );
      })}
      <SelectField
        label={t('record.sensitivity')}
        value={form.values.sensitivity}
        onChange={(v) => form.set('sensitivity', v)}
        options={[
          { value: 'normal', label: t('sensitivity.normal') },
          ...(restrictedAllowed || form.values.sensitivity === 'restricted'
            ? [{ value: 'restricted' as const, label: t('sensitivity.restricted') }]
            : []),
        ]}
        error={form.fieldError('sensitivity')}
      />
    </>
  );
}
