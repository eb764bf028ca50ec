// The examination record the benchmarks read and write: one shape for the bench server's
// record (bench/server.ts) and the soak's writes (bench/soak.ts).
export const SAMPLE_RECORD = {
  type: 'examination',
  sensitivity: 'restricted',
  content: {
    date: '2026-11-02',
    reason: 'Umgebungsuntersuchung',
    findings: 'Kein Hinweis auf aktive Tuberkulose. Befund unauffällig.',
    diagnoses: ['Z11.1'],
  },
} as const;
