// First run: the setup link's token (from the URL fragment, which never reaches
// a server log), the office, the first administrator, its second factor, and
// the usual departments of a health office.
// Issue 19: office-hosts — the link of an office the operator added carries its
// name in the fragment (`office=…`): the wizard shows it instead of asking (the
// server keeps the operator's name whatever is sent).
import { useFragmentToken, useFragmentValue } from '../ui/fragment-token.ts';
import { useState } from 'react';
import { api, ApiError } from '../api/client.ts';
import type { LoginStep } from '../api/types.ts';
import { useT, type MessageKey } from '../i18n/i18n.ts';
import { Checkbox, FormError, TextField, useForm } from '../ui/form.tsx';
import { NewPasswordField } from '../ui/password-field.tsx';
import { LoginForm } from './login-form.tsx';

const SUGGESTED: { code: string; name: MessageKey }[] = [
  { code: 'INF', name: 'dept.infection' },
  { code: 'TB', name: 'dept.tuberculosis' },
  { code: 'AAD', name: 'dept.medicalOfficer' },
  { code: 'KJGD', name: 'dept.childHealth' },
  { code: 'SPDI', name: 'dept.socialPsychiatry' },
  { code: 'HU', name: 'dept.hygiene' },
];

type Step = 'office' | 'admin' | 'mfa' | 'departments' | 'done';

export function SetupWizard({ onFinished }: { onFinished: () => void }) {
  const t = useT();
  const token = useFragmentToken();
  // Issue 19: office-hosts — the operator's name of the office, if the link has one.
  const given = useFragmentValue('office').trim();
  const named = given.length >= 2 && given.length <= 200 ? given : '';
  const [step, setStep] = useState<Step>('office');
  const [login, setLogin] = useState<LoginStep | null>(null);
  const form = useForm({ office: '', displayName: '', username: '', password: '', repeat: '' });
  const office = named || form.values.office;
  const [mismatch, setMismatch] = useState(false);
  const depts = useForm(Object.fromEntries(SUGGESTED.map((d) => [d.code, true])) as Record<string, boolean>);
  const v = form.values;
  const steps: Step[] = ['office', 'admin', 'mfa', 'departments', 'done'];

  const createAdmin = form.onSubmit(async (vals) => {
    setMismatch(vals.password !== vals.repeat);
    if (vals.password !== vals.repeat) return;
    await api('POST', '/api/setup', {
      token,
      tenant: { name: named || vals.office },
      admin: { username: vals.username, password: vals.password, displayName: vals.displayName },
    });
    history.replaceState(null, '', '/setup'); // the token is used up: off the address bar
    setLogin(await api<LoginStep>('POST', '/api/auth/login', { username: vals.username, password: vals.password }));
    setStep('mfa');
  });

  const officeError = form.fieldError('tenant.name');
  const tokenRefused =
    form.error instanceof ApiError && ['invalid-setup-token', 'already-set-up'].includes(form.error.code);

  return (
    <main className="narrow" id="main">
      <h1>{t('setup.title')}</h1>
      <ol className="steps" aria-label={t('setup.progress')}>
        {steps.map((s, i) => (
          <li
            key={s}
            aria-current={s === step ? 'step' : undefined}
            className={steps.indexOf(step) > i ? 'done' : undefined}
          >
            {t(`setup.step.${s}` as MessageKey)}
          </li>
        ))}
      </ol>
      {!token && step === 'office' && (
        <p role="alert" className="form-error">
          {t('setup.noToken')}
        </p>
      )}

      {step === 'office' && (
        <form
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            setStep('admin');
          }}
        >
          {named ? (
            <>
              <p>{t('setup.officeGivenIntro')}</p>
              <dl className="facts">
                <dt>{t('setup.officeName')}</dt>
                <dd>{named}</dd>
              </dl>
              <p>{t('setup.officeGivenNote')}</p>
            </>
          ) : (
            <>
              <p>{t('setup.officeIntro')}</p>
              <TextField
                label={t('setup.officeName')}
                value={v.office}
                onChange={(x) => form.set('office', x)}
                error={officeError}
                autoFocus
                required
              />
            </>
          )}
          <button
            type="submit"
            className="primary"
            disabled={office.trim().length < 2}
            // biome-ignore lint/a11y/noAutofocus: with the office named by the link, going on is the step's one action
            autoFocus={!!named}
          >
            {t('common.next')}
          </button>
        </form>
      )}

      {step === 'admin' && (
        <form noValidate onSubmit={createAdmin}>
          <p>{t('setup.adminIntro')}</p>
          {officeError && (
            <p role="alert" className="form-error">
              {t('setup.officeName')}: {officeError}
            </p>
          )}
          <TextField
            label={t('user.displayName')}
            value={v.displayName}
            onChange={(x) => form.set('displayName', x)}
            error={form.fieldError('admin.displayName')}
            autoFocus
            required
          />
          <TextField
            label={t('user.username')}
            value={v.username}
            onChange={(x) => form.set('username', x)}
            error={form.fieldError('admin.username')}
            autoComplete="username"
            required
          />
          <NewPasswordField
            label={t('user.password')}
            value={v.password}
            onChange={(x) => form.set('password', x)}
            context={[v.username, v.displayName, office]}
            error={form.fieldError('password')}
          />
          <TextField
            label={t('user.passwordRepeat')}
            type="password"
            autoComplete="new-password"
            value={v.repeat}
            onChange={(x) => form.set('repeat', x)}
            error={mismatch ? t('user.passwordMismatch') : undefined}
            required
          />
          {!tokenRefused && <FormError form={form} fields={['admin', 'password', 'tenant']} />}
          {tokenRefused && (
            <p role="alert" className="form-error">
              {t(
                form.error instanceof ApiError && form.error.code === 'already-set-up'
                  ? 'setup.alreadySetUp'
                  : 'setup.tokenRefused',
              )}
            </p>
          )}
          <div className="actions">
            <button type="submit" className="primary" disabled={form.busy}>
              {t('setup.createAdmin')}
            </button>
            <button type="button" onClick={() => setStep('office')}>
              {t('common.back')}
            </button>
          </div>
        </form>
      )}

      {step === 'mfa' && login && (
        <section>
          <p>{t('setup.mfaIntro')}</p>
          <LoginForm username={v.username} start={login} onDone={() => setStep('departments')} />
        </section>
      )}

      {step === 'departments' && (
        <form
          noValidate
          onSubmit={depts.onSubmit(async (chosen) => {
            for (const d of SUGGESTED)
              if (chosen[d.code]) await api('POST', '/api/admin/departments', { code: d.code, name: t(d.name) });
            setStep('done');
          })}
        >
          <fieldset>
            <legend>{t('setup.departmentsIntro')}</legend>
            {SUGGESTED.map((d) => (
              <Checkbox
                key={d.code}
                label={t(d.name)}
                checked={!!depts.values[d.code]}
                onChange={(x) => depts.set(d.code, x)}
              />
            ))}
          </fieldset>
          <FormError form={depts} fields={[]} />
          <button type="submit" className="primary" disabled={depts.busy}>
            {t('setup.createDepartments')}
          </button>
        </form>
      )}

      {step === 'done' && (
        <section>
          <p>{t('setup.doneIntro')}</p>
          <button
            type="button"
            className="primary"
            // biome-ignore lint/a11y/noAutofocus: the step replaced the form that held the focus; it goes on to the one way forward
            autoFocus
            onClick={onFinished}
          >
            {t('setup.toAdministration')}
          </button>
        </section>
      )}
    </main>
  );
}
