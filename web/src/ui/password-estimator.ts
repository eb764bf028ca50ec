// The browser's strength estimator: the server's own (src/identity/password-strength.ts) with
// the dictionaries bundled in; password-field.tsx imports this module only where a password is set.
import * as core from '@zxcvbn-ts/core';
import * as common from '@zxcvbn-ts/language-common';
import * as de from '@zxcvbn-ts/language-de';
import * as en from '@zxcvbn-ts/language-en';
import { estimatorOf, strengthWith, type Estimator } from '../../../src/identity/password-strength.ts';

let estimator: Estimator | undefined;
export const passwordStrength = (password: string, context: string[]) =>
  strengthWith(() => (estimator ??= estimatorOf({ core, common, en, de })), password, context);
