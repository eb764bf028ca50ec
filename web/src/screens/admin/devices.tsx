// DICOM devices: which modality or workstation may store, find or retrieve in
// which department; proven by a pinned client certificate (uploaded here) or,
// on a loopback-only listener, by its loopback address. Removing one asks first.
import { api } from '../../api/client.ts';
import type { Device } from '../../api/types.ts';
import { formatDate, useT } from '../../i18n/i18n.ts';
import { departmentName, useSession } from '../../session.tsx';
import { Checkbox, Field, FormError, SelectField, TextField, useForm } from '../../ui/form.tsx';
import { Loaded, useLoad } from '../../ui/load.tsx';
import { Table } from '../../ui/table.tsx';
import { useConfirm } from '../../ui/confirm.tsx';
import { useNotify } from '../../ui/notice.tsx';

const PERMISSIONS = ['store', 'find', 'retrieve'] as const;

export function Devices() {
  const t = useT();
  const { me } = useSession();
  const list = useLoad(() => api<Device[]>('GET', '/api/admin/devices'), []);
  const blank = {
    aeTitle: '',
    departmentId: me.departments[0]?.id ?? '',
    store: true,
    find: false,
    retrieve: false,
    host: '',
    certificate: '',
  };
  const form = useForm(blank);
  const remove = useForm({});
  const confirm = useConfirm();
  const notify = useNotify();
  const v = form.values;
  return (
    <>
      <h2>{t('admin.devices')}</h2>
      <Loaded state={list}>
        {(devices) => (
          <Table
            items={devices}
            none={t('device.none')}
            headers={[
              t('device.aeTitle'),
              t('person.department'),
              t('device.permissions'),
              t('device.proof'),
              t('common.actions'),
            ]}
            row={(d) => (
              <tr key={d.id}>
                <td>{d.aeTitle}</td>
                <td>{departmentName(me, d.departmentId)}</td>
                <td>{d.permissions.map((p) => t(`device.permission.${p}`)).join(', ')}</td>
                <td>
                  {d.certificate
                    ? t('device.certificateUntil', {
                        subject: d.certificate.subject,
                        until: formatDate(d.certificate.validTo),
                      })
                    : t('device.loopbackHost', { host: d.host ?? '' })}
                </td>
                <td>
                  <button
                    type="button"
                    onClick={remove.onSubmit(async () => {
                      const ae = d.aeTitle;
                      if (
                        !(await confirm.ask({
                          title: t('device.removeConfirm', { ae }),
                          text: t('device.removeConfirmText'),
                          confirm: t('device.removeShort'),
                        }))
                      )
                        return;
                      await api('DELETE', `/api/admin/devices/${d.id}`);
                      notify(t('device.removed', { ae }));
                      list.reload();
                    })}
                  >
                    {t('device.remove', { ae: d.aeTitle })}
                  </button>
                </td>
              </tr>
            )}
          />
        )}
      </Loaded>
      <FormError form={remove} fields={[]} />
      {confirm.dialog}
      <form
        noValidate
        className="stacked panel"
        aria-labelledby="new-device"
        onSubmit={form.onSubmit(async (x) => {
          await api('POST', '/api/admin/devices', {
            aeTitle: x.aeTitle,
            departmentId: x.departmentId,
            permissions: PERMISSIONS.filter((p) => x[p]),
            ...(x.certificate.trim() ? { certificate: x.certificate } : {}),
            ...(x.host.trim() ? { host: x.host.trim() } : {}),
          });
          form.reset(blank);
          notify(t('device.added', { ae: x.aeTitle }));
          list.reload();
        })}
      >
        <h3 id="new-device">{t('admin.newDevice')}</h3>
        <TextField
          label={t('device.aeTitle')}
          value={v.aeTitle}
          onChange={(x) => form.set('aeTitle', x)}
          error={form.fieldError('aeTitle')}
          hint={t('device.aeTitleHint')}
          required
        />
        <SelectField
          label={t('person.department')}
          value={v.departmentId}
          onChange={(x) => form.set('departmentId', x)}
          options={me.departments.map((d) => ({ value: d.id, label: d.name }))}
          error={form.fieldError('departmentId')}
        />
        <fieldset>
          <legend>{t('device.permissions')}</legend>
          {PERMISSIONS.map((p) => (
            <Checkbox key={p} label={t(`device.permission.${p}`)} checked={v[p]} onChange={(x) => form.set(p, x)} />
          ))}
        </fieldset>
        <Field
          label={t('device.certificate')}
          error={form.fieldError('certificate')}
          hint={t('device.certificateHint')}
        >
          {(a) => (
            <input
              {...a}
              type="file"
              accept=".pem,.crt,.cer"
              onChange={(e) => void e.target.files?.[0]?.text().then((pem) => form.set('certificate', pem))}
            />
          )}
        </Field>
        <TextField
          label={`${t('device.host')} ${t('form.optional')}`}
          value={v.host}
          onChange={(x) => form.set('host', x)}
          error={form.fieldError('host')}
          hint={t('device.hostHint')}
        />
        <FormError form={form} fields={['aeTitle', 'departmentId', 'permissions', 'certificate', 'host']} />
        <button type="submit" className="primary" disabled={form.busy}>
          {t('admin.createDevice')}
        </button>
      </form>
    </>
  );
}
