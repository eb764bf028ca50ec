// The types of API answers the server's domain modules build, named where they were
// before: each is the z.infer of its schema in src/contract (one contract, checked on
// every answer and read by the web application).
export type { ApiToken, ApprovalView, EnrolmentLink } from '../contract/identity.ts';
export type { EmergencyHit, EmergencySearchAnswer, ReviewItem } from '../contract/records.ts';
export type {
  AccessAct,
  AccessCount,
  AccessGround,
  AccessLine,
  AccessReportAnswer,
  AuditEntry,
  DisclosureHit,
} from '../contract/audit.ts';
