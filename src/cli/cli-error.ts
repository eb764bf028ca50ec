// A refused command line: CliError, said by `kartei` as one line on stderr with exit 1; and (issue 19:
// s23-german-cli) Node's parseArgs for the commands, its refusals said in the operator's language: an
// unknown option, an option missing its value (or given one it does not take), an unexpected argument,
// each followed by the command's usage. Node's own English never reaches the operator.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { msg } from './messages.ts';

/** A refusal of the command line, in the operator's language already. */
export class CliError extends Error {}

/** What Node's message names in quotes: `'--office <value>'` → `--office`. */
const named = (message: string) => /'([^' ]+)/.exec(message)?.[1] ?? '';

/** parseArgs(config); a refusal of the arguments is a CliError in the chosen language, with `usage` below it. */
export function parseCliArgs<T extends ParseArgsConfig>(config: T, usage: string): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (e) {
    const { code, message } = e as NodeJS.ErrnoException;
    const text =
      code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION'
        ? msg('cli.parse.unknownOption', { option: named(message) })
        : code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL'
          ? msg('cli.parse.unexpectedArgument', { argument: named(message) })
          : code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE'
            ? msg(/does not take an argument/.test(message) ? 'cli.parse.takesNoValue' : 'cli.parse.needsValue', {
                option: named(message),
              })
            : undefined;
    if (text === undefined) throw e;
    throw new CliError(`${text}\n${usage.trimEnd()}`);
  }
}

/**
 * (s23-review) A command that takes neither options nor arguments (serve, doctor, audit verify, keys
 * rotate-master …): any word after it refused as parseCliArgs refuses one, with `usage` (the general one
 * by default) below it. Before, such words were passed over and the command ran: `kartei keys
 * rotate-master --help` rotated the master key.
 */
export function noArguments(
  args: (string | undefined)[],
  usage = msg('usage', { offices: msg('offices.usage') }),
): void {
  const given = args.filter((a): a is string => a !== undefined);
  parseCliArgs({ args: given, options: {}, allowPositionals: false, strict: true }, usage);
}

/**
 * (s24-secrets-echo) The one word a command takes (an ID, a name, a directory), from parseCliArgs'
 * positionals: none is refused with `usage`, a second one named above it (before, it was passed over or
 * refused with the usage alone).
 */
export function oneArgument(positionals: string[], usage: string): string {
  const [word, more] = positionals;
  if (more !== undefined)
    throw new CliError(`${msg('cli.parse.extraArgument', { argument: more })}\n${usage.trimEnd()}`);
  if (word === undefined) throw new CliError(usage);
  return word;
}
