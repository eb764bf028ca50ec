// Starts Kartei's side of the retrieval benches as a server process of its own
// (retrieval-server.ts) under the production start, and talks to it over its stdin/stdout.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import readline from 'node:readline';
import type { ServerInfo, ServerOptions } from './retrieval-server.ts';

export interface KarteiRetrievalServer {
  info: ServerInfo;
  /** Sends one command line, resolves with its one-line answer. */
  ask(line: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startKarteiRetrieval(options: ServerOptions): Promise<KarteiRetrievalServer> {
  const child = spawn(
    process.execPath,
    // Issue 18: runtime — the server under the production start (bench/production-start.ts).
    [
      '--import',
      path.join(import.meta.dirname, '../production-start.ts'),
      path.join(import.meta.dirname, 'retrieval-server.ts'),
      JSON.stringify(options),
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const lines = readline.createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const nextLine = async () => {
    const r = await lines.next();
    if (r.done) throw new Error(`Kartei's bench server exited (${child.exitCode ?? child.signalCode})`);
    return r.value as string;
  };
  const info = JSON.parse(await nextLine()) as ServerInfo;
  return {
    info,
    ask(line) {
      child.stdin!.write(`${line}\n`);
      return nextLine();
    },
    async stop() {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}
