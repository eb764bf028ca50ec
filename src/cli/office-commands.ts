// `kartei offices add NAME [--host HOST]`, `kartei offices list`, `kartei offices renew NAME` (issue 19):
// the operator's commands for the offices of one deployment. They show an office's name, address and
// whether it is set up, and print an office's one-time setup link — never anything of its data or its
// audit log (the operator holds no account in any office). The link carries the office's name in its
// fragment, for the setup wizard to show (the operator named the office; the wizard does not ask).
import type { Config } from '../config/config.ts';
import type { Services } from '../services.ts';
import { addOffice, listOffices, OfficeError, renewOfficeSetup, setupLink } from '../identity/offices.ts';
import { CliError, noArguments, oneArgument, parseCliArgs } from './cli-error.ts';
import { refusalText } from './refusals.ts';
import { msg } from './messages.ts';

type WithServices = (config: Config, run: (s: Services) => Promise<number>) => Promise<number>;

export async function officesCommand(config: Config, args: string[], withServices: WithServices): Promise<number> {
  const [sub, ...rest] = args;
  // s24: echo — a word or option a command does not take is refused, named, with the usage (src/cli/cli-error.ts).
  const usage = msg('usage.block', { usage: msg('offices.usage') });
  try {
    if (sub === 'add') {
      const { name, host } = parseAdd(rest, usage);
      return await withServices(config, async (s) => {
        const { office, token } = await addOffice(s.store, s.keyring, s.audit, { name, host });
        const created = { name: office.name, id: office.id, host: office.host ?? msg('offices.anyHost') };
        process.stdout.write(`${msg('offices.created', created)}\n`);
        process.stdout.write(
          `${msg('serve.setup', { link: setupLink(config.publicUrl, office.host, token, office.name) })}\n`,
        );
        return 0;
      });
    }
    if (sub === 'list') {
      noArguments(rest, usage);
      return await withServices(config, async (s) => {
        const offices = await listOffices(s.store);
        if (offices.length === 0) process.stdout.write(`${msg('offices.none')}\n`);
        for (const o of offices)
          process.stdout.write(
            `${o.id}  ${o.host ?? msg('offices.anyAddress')}  ${msg(o.setUp ? 'offices.setUp' : 'offices.waiting')}  ${o.name}\n`,
          );
        return 0;
      });
    }
    if (sub === 'renew') {
      const words = parseCliArgs({ args: rest, options: {}, allowPositionals: true }, usage).positionals;
      const wanted = oneArgument(words, usage);
      return await withServices(config, async (s) => {
        const token = await renewOfficeSetup(s.store, wanted);
        const office = (await listOffices(s.store)).find(
          (o) => o.id === wanted || o.name.toLowerCase() === wanted.toLowerCase(),
        )!;
        process.stdout.write(
          `${msg('serve.setup', { link: setupLink(config.publicUrl, office.host, token, office.name) })}\n`,
        );
        return 0;
      });
    }
  } catch (e) {
    if (e instanceof OfficeError) throw new CliError(refusalText(e));
    throw e;
  }
  throw new CliError(usage);
}

function parseAdd(args: string[], usage: string): { name: string; host?: string } {
  const { values, positionals } = parseCliArgs(
    { args, options: { host: { type: 'string' } }, allowPositionals: true },
    usage,
  );
  const name = oneArgument(positionals, usage);
  return { name, ...(values.host !== undefined ? { host: values.host } : {}) };
}
