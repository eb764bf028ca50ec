// The §11 IfSG transmission (issue 16), for a department's physicians and head: its settings
// (district code, recipient), what the next transmission would contain (so many new, changed,
// withdrawn cases), making it after a confirmation and downloading its file, and the log of past
// transmissions, each downloadable again (the same bytes; the SHA-256 is shown to compare).
import { useEffect, useRef, useState } from 'react';
import { api, ApiError } from '../../api/client.ts';
import type { TransmissionListItem, TransmissionPreview, TransmissionSettings } from '../../api/types.ts';
import { formatDateTime, useT } from '../../i18n/i18n.ts';
import { departmentName, linksStudies, useSession } from '../../session.tsx';
import { useConfirm } from '../../ui/confirm.tsx';
import { FormError, SelectField, TextField, useForm } from '../../ui/form.tsx';
import { Loaded, useLoad } from '../../ui/load.tsx';
import { useNotify } from '../../ui/notice.tsx';
import { Table } from '../../ui/table.tsx';

const fileUrl = (id: string) => `/api/transmissions/${encodeURIComponent(id)}`;

export function TransmissionScreen(_: { rest: string }) {
  const t = useT();
  const { me } = useSession();
  // Where the caller is a physician or the head: the departments whose cases they may transmit.
  const departments = linksStudies(me);
  const [departmentId, setDepartmentId] = useState(departments[0] ?? '');
  if (departments.length === 0) return <p>{t('transmission.onlySenior')}</p>;
  return (
    <div className="transmission">
      <h2>{t('transmission.title')}</h2>
      <p>{t('transmission.intro')}</p>
      {departments.length > 1 && (
        <SelectField
          label={t('transmission.department')}
          value={departmentId}
          onChange={setDepartmentId}
          options={departments.map((d) => ({ value: d, label: departmentName(me, d) }))}
        />
      )}
      <Department key={departmentId} departmentId={departmentId} />
    </div>
  );
}

function Department({ departmentId }: { departmentId: string }) {
  const [n, setN] = useState(0);
  const changed = () => setN((x) => x + 1);
  return (
    <>
      <Settings departmentId={departmentId} onSaved={changed} />
      <Next departmentId={departmentId} version={n} onMade={changed} />
      <Log departmentId={departmentId} version={n} />
    </>
  );
}

function Settings({ departmentId, onSaved }: { departmentId: string; onSaved: () => void }) {
  const t = useT();
  const notify = useNotify();
  const state = useLoad(
    () => api<TransmissionSettings>('GET', `/api/departments/${departmentId}/transmission-settings`),
    [departmentId],
  );
  return (
    <section aria-labelledby="transmission-settings">
      <h3 id="transmission-settings">{t('transmission.settings')}</h3>
      <Loaded state={state}>
        {(s) => (
          <SettingsForm
            settings={s}
            departmentId={departmentId}
            onSaved={() => {
              notify(t('transmission.settingsSaved'));
              state.reload();
              onSaved();
            }}
          />
        )}
      </Loaded>
    </section>
  );
}

function SettingsForm({
  settings,
  departmentId,
  onSaved,
}: {
  settings: TransmissionSettings;
  departmentId: string;
  onSaved: () => void;
}) {
  const t = useT();
  const form = useForm({ districtCode: settings.districtCode ?? '', recipient: settings.recipient ?? '' });
  return (
    <form
      noValidate
      onSubmit={form.onSubmit(async (v) => {
        await api('PUT', `/api/departments/${departmentId}/transmission-settings`, {
          districtCode: v.districtCode.trim(),
          recipient: v.recipient.trim(),
          version: settings.version,
        });
        onSaved();
      })}
    >
      <TextField
        label={t('transmission.districtCode')}
        value={form.values.districtCode}
        onChange={(v) => form.set('districtCode', v)}
        hint={t('transmission.districtCodeHint')}
        inputMode="numeric"
        name="districtCode"
        error={form.fieldError('districtCode')}
      />
      <TextField
        label={t('transmission.recipient')}
        value={form.values.recipient}
        onChange={(v) => form.set('recipient', v)}
        hint={t('transmission.recipientHint')}
        name="recipient"
        error={form.fieldError('recipient')}
      />
      {form.error instanceof ApiError && form.error.code === 'stale-version' ? (
        <p role="alert" className="form-error">
          {t('error.staleVersion')}
        </p>
      ) : (
        <FormError form={form} fields={['districtCode', 'recipient']} />
      )}
      <div className="actions">
        <button type="submit" className="primary" disabled={form.busy}>
          {t('transmission.saveSettings')}
        </button>
      </div>
    </form>
  );
}

function Next({ departmentId, version, onMade }: { departmentId: string; version: number; onMade: () => void }) {
  const t = useT();
  const { ask, dialog } = useConfirm();
  // biome-ignore lint/correctness/useExhaustiveDependencies: version counts saves and transmissions; a new one loads again
  const preview = useLoad(
    () => api<TransmissionPreview>('GET', `/api/departments/${departmentId}/transmissions/preview`),
    [departmentId, version],
  );
  const [made, setMade] = useState<TransmissionListItem | null>(null);
  const form = useForm({});
  const link = useRef<HTMLAnchorElement>(null);
  useEffect(() => {
    if (made) link.current?.focus();
  }, [made]);
  return (
    <section aria-labelledby="transmission-next">
      <h3 id="transmission-next">{t('transmission.next')}</h3>
      <Loaded state={preview}>
        {(p) => {
          const total = p.counts.new + p.counts.changed + p.counts.withdrawn;
          return (
            <>
              <p>{t('transmission.counts', p.counts)}</p>
              {p.lastTransmission && (
                <p className="hint">
                  {t('transmission.last', {
                    sequence: p.lastTransmission.sequence,
                    at: formatDateTime(p.lastTransmission.createdAt),
                  })}
                </p>
              )}
              {!p.configured && <p>{t('transmission.configureFirst')}</p>}
              <form
                noValidate
                onSubmit={form.onSubmit(async () => {
                  const yes = await ask({
                    title: t('transmission.confirmTitle'),
                    text: t('transmission.confirmText', p.counts),
                    confirm: t('transmission.create'),
                  });
                  if (!yes) return;
                  const item = await api<TransmissionListItem>(
                    'POST',
                    `/api/departments/${departmentId}/transmissions`,
                  );
                  setMade(item);
                  onMade();
                })}
              >
                <FormError form={form} fields={[]} />
                <div className="actions">
                  <button type="submit" className="primary" disabled={form.busy || !p.configured || total === 0}>
                    {t('transmission.create')}
                  </button>
                </div>
              </form>
            </>
          );
        }}
      </Loaded>
      {made && (
        <p role="status" className="banner success">
          {t('transmission.made', { sequence: made.sequence, ...made.counts })}{' '}
          <a ref={link} href={fileUrl(made.id)} download>
            {t('transmission.download')}
          </a>
        </p>
      )}
      {dialog}
    </section>
  );
}

function Log({ departmentId, version }: { departmentId: string; version: number }) {
  const t = useT();
  // biome-ignore lint/correctness/useExhaustiveDependencies: version counts transmissions; a new one loads again
  const list = useLoad(
    () => api<{ items: TransmissionListItem[] }>('GET', `/api/departments/${departmentId}/transmissions`),
    [departmentId, version],
  );
  return (
    <section aria-labelledby="transmission-log">
      <h3 id="transmission-log">{t('transmission.log')}</h3>
      <Loaded state={list}>
        {({ items }) => (
          <Table
            items={items}
            none={t('transmission.none')}
            caption={t('transmission.log')}
            headers={[
              t('transmission.sequence'),
              t('transmission.createdAt'),
              t('transmission.createdBy'),
              t('transmission.contents'),
              t('transmission.sha256'),
              t('common.actions'),
            ]}
            row={(i) => (
              <tr key={i.id}>
                <td>{i.sequence}</td>
                <td>{formatDateTime(i.createdAt)}</td>
                <td>{i.createdByName ?? '—'}</td>
                <td>{t('transmission.counts', i.counts)}</td>
                <td>
                  <code className="hash">{i.sha256}</code>
                </td>
                <td className="actions">
                  <a
                    href={fileUrl(i.id)}
                    download
                    aria-label={t('transmission.downloadNumber', { sequence: i.sequence })}
                  >
                    {t('transmission.download')}
                  </a>
                </td>
              </tr>
            )}
          />
        )}
      </Loaded>
    </section>
  );
}
