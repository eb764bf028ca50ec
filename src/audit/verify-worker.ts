// Worker-thread entry: claims and verifies chunks of a chain and reports each.
import { parentPort, workerData } from 'node:worker_threads';
import { verifyChunks, type ChunkPlan } from './verify-range.ts';

const { plan, next } = workerData as { plan: ChunkPlan; next: Int32Array };
await verifyChunks(
  plan,
  next,
  (chunk, result) => parentPort!.postMessage({ chunk, result }),
  (rows) => parentPort!.postMessage({ progress: rows }),
);
parentPort!.postMessage({ finished: true });
