// An IfSG case's facts as a form (issue 16), for a new case from a person's file and for editing one:
// the disease, the RKI case-definition category (A–E with their meaning), status, dates, notifier,
// hospitalisation, death, notes. What the form does not show (measures, linked notifications and
// studies, outbreak, pathogen) is kept as it was.
import { useT } from '../../i18n/i18n.ts';
import type { MessageKey } from '../../i18n/i18n.ts';
import { Checkbox, SelectField, TextField, type FormState } from '../../ui/form.tsx';
import { DateField } from '../../ui/date-field.tsx';
import { officeToday } from '../../i18n/office-day.ts';

export const STATUSES = ['suspected', 'probable', 'confirmed', 'not-a-case'] as const;
const CATEGORIES = ['A', 'B', 'C', 'D', 'E'] as const;
export const MEASURE_KINDS = ['isolation', 'quarantine', 'activity-ban', 'observation', 'other'] as const;

interface Coded {
  system?: string;
  code: string;
  display?: string;
}

export interface Measure {
  kind: (typeof MEASURE_KINDS)[number];
  from: string;
  until?: string;
  legalBasis: string;
  note?: string;
}

/** The content of a record of type `ifsg-case` (src/records/record-types.ts decides what is valid). */
export interface CaseContent {
  disease: Coded;
  pathogen?: Coded;
  category?: (typeof CATEGORIES)[number];
  status: (typeof STATUSES)[number];
  onset?: string;
  diagnosedOn?: string;
  notifiedOn: string;
  notifier?: string;
  hospitalised?: boolean;
  hospitalisedFrom?: string;
  died?: boolean;
  diedOn?: string;
  measures?: Measure[];
  notificationIds?: string[];
  studyUids?: string[];
  outbreakId?: string;
  notes?: string;
}

export const statusLabel = (s: string) => `cases.status.${s}` as MessageKey;
export const categoryLabel = (c: string) => `cases.category.${c}` as MessageKey;
export const measureLabel = (k: string) => `cases.measure.${k}` as MessageKey;
export const caseField = (f: string) => `field.ifsg-case.${f}` as MessageKey;

export interface CaseValues {
  diseaseCode: string;
  diseaseDisplay: string;
  category: '' | (typeof CATEGORIES)[number];
  status: (typeof STATUSES)[number];
  onset: string;
  diagnosedOn: string;
  notifiedOn: string;
  notifier: string;
  hospitalised: boolean;
  hospitalisedFrom: string;
  died: boolean;
  diedOn: string;
  notes: string;
}

/** The office's day (Europe/Berlin), as the server counts follow-ups and measures. */
export const today = () => officeToday();

export function caseValues(c?: CaseContent): CaseValues {
  return {
    diseaseCode: c?.disease.code ?? '',
    diseaseDisplay: c?.disease.display ?? '',
    category: c?.category ?? '',
    status: c?.status ?? 'suspected',
    onset: c?.onset ?? '',
    diagnosedOn: c?.diagnosedOn ?? '',
    notifiedOn: c?.notifiedOn ?? today(),
    notifier: c?.notifier ?? '',
    hospitalised: c?.hospitalised ?? false,
    hospitalisedFrom: c?.hospitalisedFrom ?? '',
    died: c?.died ?? false,
    diedOn: c?.diedOn ?? '',
    notes: c?.notes ?? '',
  };
}

/** The content to send: the form's facts over what the case holds besides them; empty optional fields left out. */
export function caseContent(v: CaseValues, before?: CaseContent): CaseContent {
  const {
    category: _c,
    onset: _o,
    diagnosedOn: _d,
    notifier: _n,
    hospitalised: _h,
    hospitalisedFrom: _hf,
    died: _di,
    diedOn: _do,
    notes: _no,
    ...kept
  } = before ?? ({} as Partial<CaseContent>);
  const opt = (s: string) => (s.trim() ? s.trim() : undefined);
  const out: CaseContent = {
    ...kept,
    disease: {
      ...(before?.disease.system ? { system: before.disease.system } : {}),
      code: v.diseaseCode.trim(),
      ...(opt(v.diseaseDisplay) ? { display: opt(v.diseaseDisplay) } : {}),
    },
    status: v.status,
    notifiedOn: v.notifiedOn,
  };
  if (v.category) out.category = v.category;
  if (opt(v.onset)) out.onset = v.onset;
  if (opt(v.diagnosedOn)) out.diagnosedOn = v.diagnosedOn;
  if (opt(v.notifier)) out.notifier = opt(v.notifier);
  if (v.hospitalised) {
    out.hospitalised = true;
    if (opt(v.hospitalisedFrom)) out.hospitalisedFrom = v.hospitalisedFrom;
  }
  if (v.died) {
    out.died = true;
    if (opt(v.diedOn)) out.diedOn = v.diedOn;
  }
  if (opt(v.notes)) out.notes = v.notes.trim();
  return out;
}

/** The fields a refusal may name, for the form's error line. */
export const CASE_FIELDS = ['content'];

export function CaseFields({ form }: { form: FormState<CaseValues> }) {
  const t = useT();
  const v = form.values;
  const err = (f: string) => form.fieldError(`content.${f}`);
  const opt = ` ${t('form.optional')}`;
  return (
    <>
      <TextField
        label={t('field.ifsg-case.diseaseCode')}
        value={v.diseaseCode}
        onChange={(x) => form.set('diseaseCode', x)}
        error={form.fieldError('content.disease.code')}
        required
      />
      <TextField
        label={t('field.ifsg-case.diseaseDisplay') + opt}
        value={v.diseaseDisplay}
        onChange={(x) => form.set('diseaseDisplay', x)}
        error={form.fieldError('content.disease.display')}
      />
      <SelectField
        label={t('field.ifsg-case.status')}
        value={v.status}
        onChange={(x) => form.set('status', x)}
        options={STATUSES.map((s) => ({ value: s, label: t(statusLabel(s)) }))}
        error={err('status')}
      />
      <SelectField
        label={t('field.ifsg-case.category')}
        value={v.category}
        onChange={(x) => form.set('category', x)}
        options={[
          { value: '' as const, label: t('cases.category.none') },
          ...CATEGORIES.map((c) => ({ value: c, label: t(categoryLabel(c)) })),
        ]}
        error={err('category')}
      />
      <DateField
        label={t('field.ifsg-case.notifiedOn')}
        value={v.notifiedOn}
        onChange={(x) => form.set('notifiedOn', x)}
        error={err('notifiedOn')}
        required
      />
      <DateField
        label={t('field.ifsg-case.onset') + opt}
        value={v.onset}
        onChange={(x) => form.set('onset', x)}
        error={err('onset')}
      />
      <DateField
        label={t('field.ifsg-case.diagnosedOn') + opt}
        value={v.diagnosedOn}
        onChange={(x) => form.set('diagnosedOn', x)}
        error={err('diagnosedOn')}
      />
      <TextField
        label={t('field.ifsg-case.notifier') + opt}
        value={v.notifier}
        onChange={(x) => form.set('notifier', x)}
        error={err('notifier')}
      />
      <Checkbox
        label={t('field.ifsg-case.hospitalised')}
        checked={v.hospitalised}
        onChange={(x) => form.set('hospitalised', x)}
      />
      {v.hospitalised && (
        <DateField
          label={t('field.ifsg-case.hospitalisedFrom') + opt}
          value={v.hospitalisedFrom}
          onChange={(x) => form.set('hospitalisedFrom', x)}
          error={err('hospitalisedFrom')}
        />
      )}
      <Checkbox label={t('field.ifsg-case.died')} checked={v.died} onChange={(x) => form.set('died', x)} />
      {v.died && (
        <DateField
          label={t('field.ifsg-case.diedOn') + opt}
          value={v.diedOn}
          onChange={(x) => form.set('diedOn', x)}
          error={err('diedOn')}
        />
      )}
      <TextField
        label={t('field.ifsg-case.notes') + opt}
        value={v.notes}
        onChange={(x) => form.set('notes', x)}
        error={err('notes')}
        multiline
      />
    </>
  );
}
