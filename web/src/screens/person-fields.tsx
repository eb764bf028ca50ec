// A person's data as form fields, for creating and for editing a file.
import type { Address, Person } from '../api/types.ts';
import { useT } from '../i18n/i18n.ts';
import { SelectField, TextField, type FormState } from '../ui/form.tsx';
import { DateField } from '../ui/date-field.tsx';

export interface PersonValues {
  familyName: string;
  givenName: string;
  birthDate: string;
  sex: '' | NonNullable<Person['sex']>;
  street: string;
  postalCode: string;
  city: string;
  dicomPatientId: string;
}

export function personValues(p?: Person): PersonValues {
  return {
    familyName: p?.familyName ?? '',
    givenName: p?.givenName ?? '',
    birthDate: p?.birthDate ?? '',
    sex: p?.sex ?? '',
    street: p?.address?.street ?? '',
    postalCode: p?.address?.postalCode ?? '',
    city: p?.address?.city ?? '',
    dicomPatientId: p?.dicomPatientId ?? '',
  };
}

/** The request body: empty optional fields left out. */
export function personBody(v: PersonValues) {
  const address: Address = {};
  if (v.street.trim()) address.street = v.street;
  if (v.postalCode.trim()) address.postalCode = v.postalCode;
  if (v.city.trim()) address.city = v.city;
  return {
    familyName: v.familyName,
    givenName: v.givenName,
    birthDate: v.birthDate,
    ...(v.sex ? { sex: v.sex } : {}),
    ...(Object.keys(address).length ? { address } : {}),
    // Sent empty too, so that clearing it in an edit takes it off the file.
    dicomPatientId: v.dicomPatientId.trim(),
  };
}

type PersonForm = Pick<FormState<PersonValues>, 'values' | 'fieldError'> & {
  set: (key: keyof PersonValues, value: string) => void;
};

export function PersonFields({ form }: { form: PersonForm }) {
  const t = useT();
  const v = form.values;
  const opt = ` ${t('form.optional')}`;
  return (
    <>
      <TextField
        label={t('person.familyName')}
        value={v.familyName}
        onChange={(x) => form.set('familyName', x)}
        error={form.fieldError('familyName')}
        autoComplete="off"
        required
      />
      <TextField
        label={t('person.givenName')}
        value={v.givenName}
        onChange={(x) => form.set('givenName', x)}
        error={form.fieldError('givenName')}
        autoComplete="off"
        required
      />
      <DateField
        label={t('person.birthDate')}
        value={v.birthDate}
        onChange={(x) => form.set('birthDate', x)}
        error={form.fieldError('birthDate')}
        required
      />
      <SelectField
        label={t('person.sex') + opt}
        value={v.sex}
        onChange={(x) => form.set('sex', x)}
        error={form.fieldError('sex')}
        options={[
          { value: '', label: '—' },
          { value: 'female', label: t('sex.female') },
          { value: 'male', label: t('sex.male') },
          { value: 'diverse', label: t('sex.diverse') },
          { value: 'unknown', label: t('sex.unknown') },
        ]}
      />
      <TextField
        label={t('person.street') + opt}
        value={v.street}
        onChange={(x) => form.set('street', x)}
        error={form.fieldError('address.street')}
        autoComplete="off"
      />
      <TextField
        label={t('person.postalCode') + opt}
        value={v.postalCode}
        onChange={(x) => form.set('postalCode', x)}
        error={form.fieldError('address.postalCode')}
        autoComplete="off"
      />
      <TextField
        label={t('person.city') + opt}
        value={v.city}
        onChange={(x) => form.set('city', x)}
        error={form.fieldError('address.city')}
        autoComplete="off"
      />
      <TextField
        label={t('person.dicomPatientId') + opt}
        value={v.dicomPatientId}
        onChange={(x) => form.set('dicomPatientId', x)}
        error={form.fieldError('dicomPatientId')}
        hint={t('person.dicomPatientIdHint')}
        autoComplete="off"
      />
    </>
  );
}
