// A V8 CPU profile of Kartei's bench server, taken inside it with the inspector (started and
// stopped on request) and summed up: self time per function and per source area.
import fs from 'node:fs';
import path from 'node:path';
import { Session } from 'node:inspector/promises';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

let session: Session | undefined;

/** Starts sampling this process (every 200 µs). */
export async function startProfile(): Promise<void> {
  session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
}

/** Stops sampling and writes the .cpuprofile (for Chrome DevTools) to `file`. */
export async function stopProfile(file: string): Promise<void> {
  const { profile } = (await session!.post('Profiler.stop')) as { profile: Profile };
  session!.disconnect();
  session = undefined;
  fs.writeFileSync(file, JSON.stringify(profile));
}

/** The top `top` functions and areas by self time, as lines of text. */
export function summarize(file: string, top = 25): string {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const perFunction = new Map<string, number>();
  const perArea = new Map<string, number>();
  const repo = path.resolve(import.meta.dirname, '../..');
  const where = (url: string) => url.replace(/^file:\/\//, '').replace(`${repo}/`, '');
  let total = 0;
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i] ?? 0;
    total += us;
    const f = byId.get(id)!.callFrame;
    const file = where(f.url);
    const name = `${f.functionName || '(anonymous)'} ${f.url ? `${file}:${f.lineNumber + 1}` : ''}`.trim();
    perFunction.set(name, (perFunction.get(name) ?? 0) + us);
    const area = !f.url
      ? f.functionName || '(native)'
      : file.startsWith('node:')
        ? 'node: internals'
        : file.split('/').slice(0, 3).join('/');
    perArea.set(area, (perArea.get(area) ?? 0) + us);
  });
  const lines = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(
        ([name, us]) =>
          `  ${((100 * us) / total).toFixed(1).padStart(5)} %  ${(us / 1000).toFixed(0).padStart(6)} ms  ${name}`,
      );
  return [
    `self time ${(total / 1000).toFixed(0)} ms; by function:`,
    ...lines(perFunction),
    'by area:',
    ...lines(perArea),
  ].join('\n');
}
