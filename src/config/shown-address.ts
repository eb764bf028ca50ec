// What of an address a message may say (s24-secrets-echo): the one home of the masking, for the settings'
// refusals (config.ts) and the command line (`kartei devices`). A refusal may end up in a log or a ticket:
// it never repeats a user and password, a query (a presigned signature, a token) or a fragment, and of a
// value the URL parser does not read as an http(s) address nothing but a scheme written with `//`.

/**
 * The address with `user:password@` as `***@` and its query and fragment as `?…` / `#…`; the rest as
 * given. Everything up to the last `@` counts as the user and password: an unencoded `@`, `/` or `#` in
 * a password does not end it early.
 */
export const withoutCredentials = (value: string) =>
  value.replace(/^([a-z][a-z0-9+.-]*:\/\/)?.*@/is, '$1***@').replace(/([?#]).*$/s, '$1…');

/** Every `scheme://…` in a text (an error's message that quotes the address it was given) as withoutCredentials says it. */
export const withoutCredentialsIn = (text: string) =>
  text.replace(/\b[a-z][a-z0-9+.-]*:\/\/\S+/gi, (address) => withoutCredentials(address));

/**
 * An address written `http://` or `https://` that the URL parser reads: its origin (scheme, host, port),
 * nothing of a user, password, path, query or fragment. Anything else is undefined — `minio:geheim` is
 * a "URL" of the scheme `minio:` whose path is the password, and a value that is no address may be the
 * secret itself.
 */
export function originOf(value: string): string | undefined {
  if (!/^https?:\/\//i.test(value) || !URL.canParse(value)) return undefined;
  return new URL(value).origin;
}

/** The scheme of a value written `scheme://…` (`ftp://`), else undefined: nothing after `//` is said. */
export function schemeOf(value: string): string | undefined {
  return /^([a-z][a-z0-9+.-]*:\/\/)/i.exec(value)?.[1]?.toLowerCase();
}
