// Issue 17: making a letter or certificate from a template in this file: choose one of the templates of the
// office and the file's department, the record it is made for where its kind needs one, and make it. The new
// document appears in the file's documents (onCreated) and opens. One request key per opened form: a double
// click or a retry makes one letter.
import { useState } from 'react';
import { api, apiPage } from '../../api/client.ts';
import type { LetterMade, PersonFileView, RecordListItem, UsableTemplate } from '../../api/types.ts';
import { formatDate, useT } from '../../i18n/i18n.ts';
import { typeLabel } from '../../records/record-fields.ts';
import { FormError, SelectField, useForm } from '../../ui/form.tsx';
import { Loaded, useLoad } from '../../ui/load.tsx';
import { useNotify } from '../../ui/notice.tsx';
import { documentAddress } from './letters-shared.ts';

export function NewLetter({ personId, onCreated }: { personId: string; onCreated: () => void }) {
  const t = useT();
  const [open, setOpen] = useState(false);
  if (!open)
    return (
      <button type="button" onClick={() => setOpen(true)}>
        {t('letters.new')}
      </button>
    );
  return (
    <LetterForm
      personId={personId}
      onClose={() => setOpen(false)}
      onCreated={() => {
        setOpen(false);
        onCreated();
      }}
    />
  );
}

interface Choices {
  templates: UsableTemplate[];
  records: RecordListItem[];
}

function LetterForm({
  personId,
  onClose,
  onCreated,
}: {
  personId: string;
  onClose: () => void;
  onCreated: () => void;
}) {
  const state = useLoad<Choices>(async () => {
    const person = await api<PersonFileView>('GET', `/api/persons/${personId}`);
    const [templates, records] = await Promise.all([
      api<{ items: UsableTemplate[] }>('GET', `/api/departments/${person.departmentId}/letter-templates`),
      apiPage<RecordListItem>(`/api/persons/${personId}/records?limit=200`),
    ]);
    return { templates: templates.items, records: records.items };
  }, [personId]);
  return (
    <Loaded state={state}>
      {(c) => <Form personId={personId} choices={c} onClose={onClose} onCreated={onCreated} />}
    </Loaded>
  );
}

function Form({
  personId,
  choices,
  onClose,
  onCreated,
}: {
  personId: string;
  choices: Choices;
  onClose: () => void;
  onCreated: () => void;
}) {
  const t = useT();
  const notify = useNotify();
  const [requestKey] = useState(() => crypto.randomUUID());
  const form = useForm({ templateId: choices.templates[0]?.id ?? '', recordId: '' });
  const template = choices.templates.find((x) => x.id === form.values.templateId);
  const records = template?.recordType ? choices.records.filter((r) => r.type === template.recordType) : [];
  if (choices.templates.length === 0)
    return (
      <div className="panel">
        <p>{t('letters.noTemplates')}</p>
        <button type="button" onClick={onClose}>
          {t('common.cancel')}
        </button>
      </div>
    );
  return (
    <form
      noValidate
      className="stacked panel"
      aria-labelledby="new-letter"
      onSubmit={form.onSubmit(async (v) => {
        const made = await api<LetterMade>('POST', `/api/persons/${personId}/letters`, {
          templateId: v.templateId,
          ...(v.recordId ? { recordId: v.recordId } : {}),
          requestKey,
        });
        notify(t('letters.made'));
        onCreated();
        window.open(documentAddress(made.documentId, made.documentVersion), '_blank', 'noopener');
      })}
    >
      <h3 id="new-letter">{t('letters.new')}</h3>
      <SelectField
        label={t('letters.template')}
        value={form.values.templateId}
        onChange={(x) => {
          form.set('templateId', x);
          form.set('recordId', '');
        }}
        options={choices.templates.map((x) => ({ value: x.id, label: `${x.name} (${t(`letters.kind.${x.kind}`)})` }))}
        error={form.fieldError('templateId')}
      />
      {template?.recordType && (
        <SelectField
          label={t(template.recordRequired ? 'letters.record' : 'letters.recordOptional')}
          value={form.values.recordId}
          onChange={(x) => form.set('recordId', x)}
          options={[
            { value: '', label: t(template.recordRequired ? 'letters.chooseRecord' : 'letters.noRecord') },
            ...records.map((r) => ({
              value: r.id,
              label: `${t(typeLabel(r.type))} ${formatDate(r.createdAt)}${r.title ? ` – ${r.title}` : ''}`,
            })),
          ]}
          error={form.fieldError('recordId')}
        />
      )}
      <FormError form={form} fields={['templateId', 'recordId']} />
      <div className="actions">
        <button type="submit" className="primary" disabled={form.busy || !template}>
          {t('letters.make')}
        </button>
        <button type="button" onClick={onClose}>
          {t('common.cancel')}
        </button>
      </div>
    </form>
  );
}
