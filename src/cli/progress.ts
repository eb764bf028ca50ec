// Progress of long operations, shown only on a terminal so logs stay clean; counts as the
// operator's language writes them (src/cli/messages.ts).
import { formatCount } from './messages.ts';

export function progressBar(label: string, stream: NodeJS.WriteStream = process.stderr) {
  if (!stream.isTTY) return { update: (_done: number, _total: number) => {}, done: () => {} };
  let last = 0;
  return {
    update(done: number, total: number) {
      const now = Date.now();
      if (now - last < 100 && done < total) return;
      last = now;
      const pct = total > 0 ? Math.min(100, Math.floor((done / total) * 100)) : 100;
      stream.write(`\r${label}: ${formatCount(done)} / ${formatCount(total)} (${pct}%)`);
    },
    done: () => stream.write('\n'),
  };
}
