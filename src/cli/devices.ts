// `kartei devices add|list|remove`: a client of the running server's API,
// authenticated by the operator's personal API token, so the registry changes
// through the same gate, policy and audit as in the browser.
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import type { Config } from '../config/config.ts';

const DEVICES_USAGE = `usage: kartei devices <list | add | remove ID>
  add --ae AE_TITLE --department CODE|ID --permissions store,find,retrieve
      [--certificate device.pem] [--host 127.0.0.1] [--port 104]
  env: KARTEI_API_TOKEN (an administrator's token with the admin scope: POST /api/auth/tokens), KARTEI_PUBLIC_URL
`;

export class CliError extends Error {}

export async function devicesCommand(
  config: Config,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const token = env.KARTEI_API_TOKEN;
  if (!token)
    throw new CliError(
      "set KARTEI_API_TOKEN to an administrator's API token with the admin scope (POST /api/auth/tokens)",
    );
  const api = client(config.publicUrl, token);
  const [sub, ...rest] = args;
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
      const proof = d.certificate ? 'certificate' : `host ${d.host}`;
      process.stdout.write(
        `${d.id}  ${d.aeTitle.padEnd(16)}  ${d.departmentId}  ${d.permissions.join(',')}  ${proof}\n`,
      );
    }
    return 0;
  }
  if (sub === 'add') {
    const values = addOptions(rest);
    if (!values.ae || !values.department || !values.permissions) throw new CliError(DEVICES_USAGE);
    const departments = (await api('GET', '/api/admin/departments')) as { id: string; code: string }[];
    const department = departments.find((d) => d.code === values.department || d.id === values.department);
    if (!department) throw new CliError(`no department with code or id "${values.department}"`);
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
  if (sub === 'remove' && rest.length === 1) {
    await api('DELETE', `/api/admin/devices/${encodeURIComponent(rest[0]!)}`);
    return 0;
  }
  throw new CliError(DEVICES_USAGE);
}

function addOptions(args: string[]) {
  try {
    return parseArgs({
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
    }).values;
  } catch (e) {
    throw new CliError(`${(e as Error).message}\n${DEVICES_USAGE}`);
  }
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
      throw new CliError(
        `cannot reach the server at ${base} (${(e as Error).message}); is it running? (KARTEI_PUBLIC_URL)`,
      );
    }
    const text = await res.text();
    const json = text ? JSON.parse(text) : undefined;
    if (!res.ok) throw new CliError(`${res.status} ${json?.detail ?? res.statusText}`);
    return json;
  };
}
