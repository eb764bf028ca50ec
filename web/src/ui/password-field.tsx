// A new password with a strength meter. The estimator (with its German and
// English dictionaries) is the server's own, loaded only where a password is set.
import { useEffect, useState } from 'react';
import { useT } from '../i18n/i18n.ts';
import { TextField } from './form.tsx';
import { passwordFeedback } from './problem-text.ts';

type Estimator = typeof import('./password-estimator.ts');
let estimator: Promise<Estimator> | undefined;
const loadEstimator = () => (estimator ??= import('./password-estimator.ts'));

interface Props {
  label: string;
  value: string;
  onChange: (v: string) => void;
  /** The user's and the office's own words, which make a password guessable. */
  context: string[];
  error?: string;
}

export function NewPasswordField({ label, value, onChange, context, error }: Props) {
  const t = useT();
  const [score, setScore] = useState<{
    score: number;
    acceptable: boolean;
    warning: string;
    suggestions: string[];
  } | null>(null);
  const contextKey = context.join('\n');
  useEffect(() => {
    let live = true;
    if (!value) {
      setScore(null);
      return;
    }
    void loadEstimator().then((m) => {
      if (live) setScore(m.passwordStrength(value, contextKey.split('\n')));
    });
    return () => {
      live = false;
    };
  }, [value, contextKey]);
  // The estimator's feedback comes as keys (`topTen`, `anotherWord`…), worded here in the user's language.
  const advice =
    score && !score.acceptable && value.length >= 12
      ? [passwordFeedback('warning', score.warning), passwordFeedback('suggestion', score.suggestions[0] ?? '')].filter(
          Boolean,
        )
      : [];
  const verdict = !score
    ? t('password.hint')
    : score.acceptable
      ? t('password.strong')
      : value.length < 12
        ? t('password.tooShort')
        : [t('password.weak'), ...advice].join(' ');
  return (
    <TextField
      label={label}
      type="password"
      autoComplete="new-password"
      value={value}
      onChange={onChange}
      error={error}
      required
      hint={
        <span className="strength">
          <meter min={0} max={4} low={2} high={3.5} optimum={4} value={score?.score ?? 0} aria-hidden="true" />
          <span aria-live="polite">{verdict}</span>
        </span>
      }
    />
  );
}
