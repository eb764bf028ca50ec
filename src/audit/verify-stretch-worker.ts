// Worker-thread entry: claims signed stretches and checks their digests (`stretch-claim.ts`),
// reporting the rows that held as it goes.
import { parentPort, workerData } from 'node:worker_threads';
import { type StretchBoard, type StretchPlan, stretchClaimer } from './stretch-claim.ts';

const { plan, board } = workerData as { plan: StretchPlan; board: StretchBoard };
const claimer = stretchClaimer(plan, board);
try {
  for (let rows = claimer.claim(8); rows >= 0; rows = claimer.claim(8)) if (rows > 0) parentPort!.postMessage(rows);
} finally {
  claimer.close();
}
parentPort!.postMessage('finished');
