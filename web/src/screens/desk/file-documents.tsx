// Issue 17: a file's documents: attachments and generated letters, upload, preview — a placeholder until its screen lands.
import type { ReactNode } from 'react';
export function FileDocuments(_: { personId: string; renderActions?: (reload: () => void) => ReactNode }) {
  return null;
}
