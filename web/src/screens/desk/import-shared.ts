// Issue 17: import — what the import's screens share: a job's state as shown (a `running` job with no
// runner is "interrupted"), and the German words of fields, outcomes and reasons.
import type { ImportJob } from '../../api/types.ts';

export type ShownState = ImportJob['state'] | 'interrupted';

export const jobState = (j: Pick<ImportJob, 'state' | 'active'>): ShownState =>
  j.state === 'running' && !j.active ? 'interrupted' : j.state;
