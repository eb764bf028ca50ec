// Verifications the server runs for requests (GET /api/audit/status, GET /api/security-report): at
// most RUNNING_AT_ONCE run at a time per database (a server has one), each with its own database
// connections and perhaps a worker; the others wait their turn. Requests for the same chains that
// wait together share the one verification that starts next, which starts after each of them
// arrived: a flood of status requests (a DPO's, an admin's) costs one verification per office at a
// time, not a connection per request, and no request is answered with a verification that began
// before it (s25). A verification that never ends (a database that stops answering) holds its turn:
// the requests behind it wait, as they would on it.
import type { Store } from '../db/connect.ts';
import type { CheckpointSigner } from './signing-key.ts';
import { verifyAudit, type VerifyResult } from './verify.ts';

const RUNNING_AT_ONCE = 2;

interface Turns {
  running: number;
  /** Verifications not yet started, one per set of chains, in the order they were asked for. */
  waiting: Map<string, { start: () => void; result: Promise<VerifyResult> }>;
}

const turnsOf = new WeakMap<Store, Turns>();
/** For tests: how many have run, and the most at once. */
const seen = { started: 0, most: 0 };

export function sharedVerify(store: Store, signer: CheckpointSigner, only: string[]): Promise<VerifyResult> {
  const turns = turnsOf.get(store) ?? { running: 0, waiting: new Map() };
  turnsOf.set(store, turns);
  const key = JSON.stringify([...only].sort());
  const queued = turns.waiting.get(key);
  if (queued) return queued.result;
  let start!: () => void;
  const result = new Promise<VerifyResult>((resolve, reject) => {
    start = () => {
      turns.waiting.delete(key);
      turns.running++;
      seen.started++;
      seen.most = Math.max(seen.most, turns.running);
      verifyAudit(store, signer, { only })
        .then(resolve, reject)
        .finally(() => {
          turns.running--;
          turns.waiting.values().next().value?.start();
        });
    };
  });
  turns.waiting.set(key, { start, result });
  if (turns.running < RUNNING_AT_ONCE) start();
  return result;
}

export const sharedVerifyStats = () => ({ ...seen });
