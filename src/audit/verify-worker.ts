// Worker-thread entry: verifies the range it is given and reports back.
import { parentPort, workerData } from 'node:worker_threads';
import { verifyRange, type RangeTask } from './verify-range.ts';

const result = await verifyRange(workerData as RangeTask, (rows) => parentPort!.postMessage({ progress: rows }));
parentPort!.postMessage({ result });
