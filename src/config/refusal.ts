// A refusal the operator meets on the command line (a setting, a lock, a backup's destination):
// a stable code and its parameters beside the error's English message, so that `kartei` can say
// it in German (src/cli/refusals.ts). Without a code the message is said as it is.
export interface Refusal {
  code: string;
  params?: Record<string, string | number>;
}

export const refusal = (code: string, params?: Record<string, string | number>): Refusal => ({
  code,
  ...(params ? { params } : {}),
});

/** An error that may carry a refusal: ConfigError, OfficeError and KeyFileError share it. */
export class RefusalError extends Error {
  readonly refusal?: Refusal;
  constructor(message: string, refusal?: Refusal) {
    super(message);
    if (refusal) this.refusal = refusal;
  }
}
