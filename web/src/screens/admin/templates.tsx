// Issue 17: the office's and departments' letter templates, edited by an administrator: the list (with
// "Mustervorlagen anlegen" while the office has none), a form per template with a field picker that inserts
// the kind's fields (`{{person.familyName}}` …) where the cursor is, a preview as PDF filled with sample data,
// and the kept versions (one can be loaded into the form; saving it makes it the newest version again).
import { useRef, useState, type ReactNode } from 'react';
import { api, request } from '../../api/client.ts';
import type {
  Department,
  LetterTemplateKind,
  TemplateCatalogue,
  TemplateContent,
  TemplateListItem,
  TemplateView,
} from '../../api/types.ts';
import { formatDateTime, useT } from '../../i18n/i18n.ts';
import { Checkbox, Field, FormError, SaveOrCancel, SelectField, TextField, useForm } from '../../ui/form.tsx';
import { Loaded, useLoad } from '../../ui/load.tsx';
import { useNotify } from '../../ui/notice.tsx';
import { Table } from '../../ui/table.tsx';
import { TEMPLATE_KINDS } from '../desk/letters-shared.ts';

type Editing = { kind: 'new' } | { kind: 'edit'; id: string } | null;

export function TemplatesAdmin() {
  const t = useT();
  const notify = useNotify();
  const [editing, setEditing] = useState<Editing>(null);
  const list = useLoad(async () => {
    const [templates, departments, catalogue] = await Promise.all([
      api<{ items: TemplateListItem[] }>('GET', '/api/admin/templates'),
      api<Department[]>('GET', '/api/admin/departments'),
      api<TemplateCatalogue>('GET', '/api/admin/templates/catalogue'),
    ]);
    return { templates: templates.items, departments, catalogue };
  }, []);
  const close = () => {
    setEditing(null);
    list.reload();
  };
  return (
    <Loaded state={list}>
      {({ templates, departments, catalogue }) => {
        const scope = (d: string | null) =>
          d === null ? t('templates.office') : (departments.find((x) => x.id === d)?.name ?? d);
        if (editing?.kind === 'new')
          return <NewTemplate departments={departments} catalogue={catalogue} onDone={close} />;
        if (editing?.kind === 'edit') return <EditTemplate id={editing.id} onDone={close} />;
        return (
          <section aria-labelledby="templates-title">
            <h2 id="templates-title">{t('templates.title')}</h2>
            <p>{t('templates.intro')}</p>
            <div className="actions">
              <button type="button" className="primary" onClick={() => setEditing({ kind: 'new' })}>
                {t('templates.new')}
              </button>
              {TEMPLATE_KINDS.slice(0, 4).some(
                (k) => !templates.some((x) => x.kind === k && x.departmentId === null),
              ) && (
                <button
                  type="button"
                  onClick={async () => {
                    const { created } = await api<{ created: number }>('POST', '/api/admin/templates/starters');
                    notify(t('templates.startersMade', { n: created }));
                    list.reload();
                  }}
                >
                  {t('templates.starters')}
                </button>
              )}
            </div>
            <Table
              items={templates}
              caption={t('templates.title')}
              none={t('templates.none')}
              headers={[t('templates.name'), t('templates.kind'), t('templates.scope'), t('templates.version'), '']}
              row={(x) => (
                <tr key={x.id}>
                  <td>
                    {x.name}
                    {!x.active && ` (${t('templates.inactive')})`}
                  </td>
                  <td>{t(`letters.kind.${x.kind}`)}</td>
                  <td>{scope(x.departmentId)}</td>
                  <td>{x.version}</td>
                  <td className="actions">
                    <button
                      type="button"
                      onClick={() => setEditing({ kind: 'edit', id: x.id })}
                      aria-label={t('templates.editOne', { name: x.name })}
                    >
                      {t('templates.edit')}
                    </button>
                  </td>
                </tr>
              )}
            />
          </section>
        );
      }}
    </Loaded>
  );
}

/** The form's values: the content, the address lines as one text. */
interface Values {
  name: string;
  officeName: string;
  addressLines: string;
  phone: string;
  email: string;
  senderLine: string;
  reference: string;
  subject: string;
  body: string;
  signature: string;
  active: boolean;
}

const valuesOf = (c: TemplateContent, active = true): Values => ({
  name: c.name,
  officeName: c.letterhead.officeName,
  addressLines: c.letterhead.addressLines.join('\n'),
  phone: c.letterhead.phone ?? '',
  email: c.letterhead.email ?? '',
  senderLine: c.senderLine,
  reference: c.reference ?? '',
  subject: c.subject,
  body: c.body,
  signature: c.signature,
  active,
});

const contentOf = (v: Values): TemplateContent => ({
  name: v.name,
  letterhead: {
    officeName: v.officeName,
    addressLines: v.addressLines.split('\n').filter((l) => l.trim() !== ''),
    ...(v.phone.trim() ? { phone: v.phone } : {}),
    ...(v.email.trim() ? { email: v.email } : {}),
  },
  senderLine: v.senderLine,
  ...(v.reference.trim() ? { reference: v.reference } : {}),
  subject: v.subject,
  body: v.body,
  signature: v.signature,
});

const EMPTY: TemplateContent = {
  name: '',
  letterhead: { officeName: '', addressLines: [] },
  senderLine: '',
  subject: '',
  body: '',
  signature: 'Mit freundlichen Grüßen\nIm Auftrag\n\n{{user.displayName}}',
};

const FIELDS = [
  'content.name',
  'content.letterhead',
  'content.senderLine',
  'content.reference',
  'content.subject',
  'content.body',
  'content.signature',
  'departmentId',
  'kind',
];

function NewTemplate({
  departments,
  catalogue,
  onDone,
}: {
  departments: Department[];
  catalogue: TemplateCatalogue;
  onDone: () => void;
}) {
  const t = useT();
  const [kind, setKind] = useState<LetterTemplateKind>('invitation');
  const [department, setDepartment] = useState('');
  const fields = catalogue.kinds.find((k) => k.kind === kind)?.fields ?? [];
  return (
    <TemplateForm
      title={t('templates.new')}
      initial={valuesOf(EMPTY)}
      kind={kind}
      fields={fields}
      head={
        <>
          <SelectField
            label={t('templates.kind')}
            value={kind}
            onChange={setKind}
            options={TEMPLATE_KINDS.map((k) => ({ value: k, label: t(`letters.kind.${k}`) }))}
          />
          <SelectField
            label={t('templates.scope')}
            value={department}
            onChange={setDepartment}
            options={[
              { value: '', label: t('templates.office') },
              ...departments.map((d) => ({ value: d.id, label: d.name })),
            ]}
          />
        </>
      }
      save={async (v) => {
        await api('POST', '/api/admin/templates', { departmentId: department || null, kind, content: contentOf(v) });
      }}
      onDone={onDone}
    />
  );
}

function EditTemplate({ id, onDone }: { id: string; onDone: () => void }) {
  const view = useLoad(() => api<TemplateView>('GET', `/api/admin/templates/${encodeURIComponent(id)}`), [id]);
  return (
    <Loaded state={view}>{(v) => <EditLoaded key={v.version} view={v} onDone={onDone} reload={view.reload} />}</Loaded>
  );
}

function EditLoaded({ view, onDone }: { view: TemplateView; onDone: () => void; reload: () => void }) {
  const t = useT();
  const [loaded, setLoaded] = useState<{ version: number; values: Values } | null>(null);
  return (
    <TemplateForm
      key={loaded?.version ?? 'current'}
      title={t('templates.editOne', { name: view.name })}
      initial={loaded?.values ?? valuesOf(view.content, view.active)}
      kind={view.kind}
      fields={view.fields}
      editing
      save={async (v) => {
        await api('PUT', `/api/admin/templates/${encodeURIComponent(view.id)}`, {
          version: view.version,
          content: contentOf(v),
          active: v.active,
        });
      }}
      onDone={onDone}
      foot={
        <section aria-labelledby="template-versions">
          <h3 id="template-versions">{t('templates.versions')}</h3>
          <Table
            items={view.versions}
            caption={t('templates.versions')}
            headers={[t('templates.version'), t('templates.savedAt'), t('templates.savedBy'), '']}
            row={(x) => (
              <tr key={x.version}>
                <td>{x.version}</td>
                <td>{formatDateTime(x.createdAt)}</td>
                <td>{x.createdByName ?? '—'}</td>
                <td className="actions">
                  {x.version !== view.version && (
                    <button
                      type="button"
                      onClick={async () => {
                        const old = await api<{ content: TemplateContent }>(
                          'GET',
                          `/api/admin/templates/${encodeURIComponent(view.id)}/versions/${x.version}`,
                        );
                        setLoaded({ version: x.version, values: valuesOf(old.content, view.active) });
                      }}
                    >
                      {t('templates.loadVersion', { version: x.version })}
                    </button>
                  )}
                </td>
              </tr>
            )}
          />
          {loaded && <p role="status">{t('templates.versionLoaded', { version: loaded.version })}</p>}
        </section>
      }
    />
  );
}

function TemplateForm({
  title,
  initial,
  kind,
  fields,
  head,
  foot,
  editing,
  save,
  onDone,
}: {
  title: string;
  initial: Values;
  kind: LetterTemplateKind;
  fields: { name: string; label: string }[];
  head?: ReactNode;
  foot?: ReactNode;
  editing?: boolean;
  save: (v: Values) => Promise<void>;
  onDone: () => void;
}) {
  const t = useT();
  const notify = useNotify();
  const form = useForm(initial);
  const body = useRef<HTMLTextAreaElement>(null);
  const [preview, setPreview] = useState<string | null>(null);
  const [previewBusy, setPreviewBusy] = useState(false);
  const [previewError, setPreviewError] = useState<Error | null>(null);
  const makePreview = async () => {
    setPreviewBusy(true);
    setPreviewError(null);
    try {
      const res = await request('POST', '/api/admin/templates/preview', {
        body: { kind, content: contentOf(form.values) },
        accept: 'application/pdf',
      });
      if (preview) URL.revokeObjectURL(preview);
      setPreview(URL.createObjectURL(await res.blob()));
    } catch (err) {
      setPreviewError(err instanceof Error ? err : new Error(String(err)));
    } finally {
      setPreviewBusy(false);
    }
  };
  const v = form.values;
  const insert = (name: string) => {
    const el = body.current;
    const text = `{{${name}}}`;
    const at = el ? el.selectionStart : v.body.length;
    const end = el ? el.selectionEnd : v.body.length;
    form.set('body', v.body.slice(0, at) + text + v.body.slice(end));
    requestAnimationFrame(() => {
      el?.focus();
      el?.setSelectionRange(at + text.length, at + text.length);
    });
  };
  const text = (key: keyof Values, label: string, extra: { multiline?: boolean; hint?: string } = {}) => (
    <TextField
      label={label}
      value={v[key] as string}
      onChange={(x) => form.set(key, x)}
      error={form.fieldError(
        key === 'officeName' || key === 'addressLines' || key === 'phone' || key === 'email'
          ? `content.letterhead.${key}`
          : `content.${key}`,
      )}
      multiline={extra.multiline}
      hint={extra.hint}
    />
  );
  return (
    <form
      noValidate
      className="stacked panel"
      aria-labelledby="template-form"
      onSubmit={form.onSubmit(async (x) => {
        await save(x);
        notify(t('templates.saved'));
        onDone();
      })}
    >
      <h2 id="template-form">{title}</h2>
      {head}
      {text('name', t('templates.name'))}
      <fieldset>
        <legend>{t('templates.letterhead')}</legend>
        {text('officeName', t('templates.officeName'))}
        {text('addressLines', t('templates.addressLines'), { multiline: true, hint: t('templates.addressLinesHint') })}
        {text('phone', t('templates.phone'))}
        {text('email', t('templates.email'))}
      </fieldset>
      {text('senderLine', t('templates.senderLine'), { hint: t('templates.senderLineHint') })}
      {text('reference', t('templates.reference'))}
      {text('subject', t('templates.subject'))}
      <Field label={t('templates.body')} error={form.fieldError('content.body')} hint={t('templates.bodyHint')}>
        {(a) => (
          <textarea {...a} ref={body} rows={14} value={v.body} onChange={(e) => form.set('body', e.target.value)} />
        )}
      </Field>
      <section aria-labelledby="field-picker" className="field-picker">
        <h3 id="field-picker">{t('templates.fields')}</h3>
        <ul>
          {fields.map((f) => (
            <li key={f.name}>
              <button
                type="button"
                onClick={() => insert(f.name)}
                aria-label={t('templates.insert', { field: `{{${f.name}}}`, label: f.label })}
              >
                <code>{`{{${f.name}}}`}</code>
              </button>{' '}
              {f.label}
            </li>
          ))}
        </ul>
      </section>
      {text('signature', t('templates.signature'), { multiline: true })}
      {editing && <Checkbox label={t('templates.active')} checked={v.active} onChange={(x) => form.set('active', x)} />}
      <div className="actions">
        <button type="button" disabled={previewBusy} onClick={() => void makePreview()}>
          {t('templates.preview')}
        </button>
        {preview && (
          <a href={preview} target="_blank" rel="noopener" download="Vorschau.pdf">
            {t('templates.openPreview')}
          </a>
        )}
      </div>
      {previewError && <FormError form={{ error: previewError, fieldError: () => undefined }} fields={[]} />}
      <SaveOrCancel form={form} fields={FIELDS} onCancel={onDone} />
      {foot}
    </form>
  );
}
