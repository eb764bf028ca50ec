// Issue 18: runtime — preloaded into the soak's server process (bench/soak.ts) with
// `--import`: every BENCH_SOAK_PROBE_MS (10 s) it appends one JSON line with the process's
// resident memory and V8's heap (used, committed) and its Buffers' memory to the file
// BENCH_SOAK_PROBE names, and on SIGUSR2 writes a heap snapshot into the directory
// BENCH_SOAK_SNAPSHOTS names (to find what grows, if something does). Does nothing without
// BENCH_SOAK_PROBE.
import fs from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';

const file = process.env.BENCH_SOAK_PROBE;
if (file) {
  const every = Number(process.env.BENCH_SOAK_PROBE_MS ?? 10_000);
  const sample = () => {
    const m = process.memoryUsage();
    const h = v8.getHeapStatistics();
    const line = {
      t: Date.now(),
      rss: m.rss,
      heapUsed: h.used_heap_size,
      heapCommitted: h.total_heap_size,
      external: m.external,
      arrayBuffers: m.arrayBuffers,
    };
    fs.appendFileSync(file, `${JSON.stringify(line)}\n`);
  };
  setInterval(sample, every).unref();
  const snapshots = process.env.BENCH_SOAK_SNAPSHOTS;
  if (snapshots)
    process.on('SIGUSR2', () => {
      v8.writeHeapSnapshot(path.join(snapshots, `soak-${Date.now()}.heapsnapshot`));
    });
}
