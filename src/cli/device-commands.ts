// `kartei devices add|list|remove`: a client of the running server's API,
// authenticated by the operator's personal API token, so the registry changes
// through the same gate, policy and audit as in the browser. A new device's id alone on stdout.
import fs from 'node:fs';
import { CliError, noArguments, oneArgument, parseCliArgs } from './cli-error.ts';
import { isLoopbackUrl, type Config } from '../config/config.ts';
import { msg } from './messages.ts';
import { withoutCredentials, withoutCredentialsIn } from '../config/shown-address.ts'; // s24: echo

export async function devicesCommand(
  config: Config,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const [sub, ...rest] = args;
  // s24: echo — every word is checked before the server is asked anything: one the command does not
  // take is refused with the usage (`devices list extra` listed the devices, `remove --frob` asked to
  // remove a device of that id).
  const usage = msg('devices.usage');
  if (sub === 'list') noArguments(rest, usage);
  const values = sub === 'add' ? addOptions(rest) : undefined;
  if (values && (!values.ae || !values.department || !values.permissions)) throw new CliError(usage);
  const removed =
    sub === 'remove'
      ? oneArgument(parseCliArgs({ args: rest, options: {}, allowPositionals: true }, usage).positionals, usage)
      : undefined;
  if (sub !== 'list' && !values && removed === undefined) throw new CliError(usage);
  const token = env.KARTEI_API_TOKEN;
  if (!token) throw new CliError(msg('devices.noToken'));
  // s24: the administrator's token is never sent in the clear beyond this machine (http:// only to loopback).
  const target = new URL(config.publicUrl);
  if (target.protocol !== 'https:' && !isLoopbackUrl(target))
    throw new CliError(msg('devices.plainHttp', { base: withoutCredentials(config.publicUrl) }));
  const api = client(config.publicUrl, token);
  if (sub === 'list') {
    const devices = (await api('GET', '/api/admin/devices')) as {
      id: string;
      aeTitle: string;
      departmentId: string;
      permissions: string[];
      certificate: unknown;
      host: string | null;
    }[];
    for (const d of devices) {
      const proof = d.certificate ? msg('devices.certificate') : msg('devices.host', { host: String(d.host) });
      process.stdout.write(
        `${d.id}  ${d.aeTitle.padEnd(16)}  ${d.departmentId}  ${d.permissions.join(',')}  ${proof}\n`,
      );
    }
    return 0;
  }
  if (values?.ae && values.department && values.permissions) {
    const departments = (await api('GET', '/api/admin/departments')) as { id: string; code: string }[];
    const department = departments.find((d) => d.code === values.department || d.id === values.department);
    if (!department) throw new CliError(msg('cli.noDepartment', { department: values.department }));
    const body = {
      aeTitle: values.ae,
      departmentId: department.id,
      permissions: values.permissions.split(',').map((p) => p.trim()),
      ...(values.certificate ? { certificate: fs.readFileSync(values.certificate, 'utf8') } : {}),
      ...(values.host ? { host: values.host } : {}),
      ...(values.port ? { port: Number(values.port) } : {}),
    };
    const { id } = (await api('POST', '/api/admin/devices', body)) as { id: string };
    process.stdout.write(`${id}\n`);
    return 0;
  }
  await api('DELETE', `/api/admin/devices/${encodeURIComponent(removed!)}`);
  return 0;
}

function addOptions(args: string[]) {
  // Issue 19: s23-german-cli — a refusal of the options in the operator's language (src/cli/cli-error.ts).
  return parseCliArgs(
    {
      args,
      options: {
        ae: { type: 'string' },
        department: { type: 'string' },
        permissions: { type: 'string' },
        certificate: { type: 'string' },
        host: { type: 'string' },
        port: { type: 'string' },
      },
      strict: true,
    },
    msg('devices.usage'),
  ).values;
}

/** Calls the API; a problem+json answer becomes a CliError with its detail. */
function client(base: string, token: string) {
  return async (method: string, path: string, body?: unknown): Promise<unknown> => {
    let res: Response;
    try {
      res = await fetch(new URL(path, base), {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
    } catch (e) {
      // s24: echo — the address without a user, password, query or fragment (src/config/shown-address.ts),
      // and the reason (fetch's cause, else its message, which may quote the address) likewise.
      const cause = (e as { cause?: unknown }).cause;
      const error = withoutCredentialsIn(cause instanceof Error ? cause.message : (e as Error).message);
      throw new CliError(msg('devices.unreachable', { base: withoutCredentials(base), error }));
    }
    const text = await res.text();
    const json = text ? JSON.parse(text) : undefined;
    if (!res.ok) throw new CliError(`${res.status} ${json?.detail ?? res.statusText}`);
    return json;
  };
}
