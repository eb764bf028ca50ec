// The shapes the web application reads from the API: the types of the zod schemas
// in src/contract, which the server checks every JSON answer against.
export type { Department, DepartmentRole, Membership, Sensitivity, TenantRole } from '../../../src/contract/common.ts';
export type {
  ApiToken,
  ApprovalView as Approval,
  EnrolmentLink,
  LoginStep,
  Me,
  Passkey,
  UserView,
} from '../../../src/contract/identity.ts';
export type {
  Address,
  EmergencySearchAnswer,
  Person,
  PersonFileView,
  PersonListItem,
  RecordListItem,
  RecordVersion,
  RecordVersionContent,
  RecordView,
  ReviewItem as Review,
  Share,
} from '../../../src/contract/records.ts';
export type {
  AccessCount,
  AccessLine,
  AccessReportAnswer,
  AuditEntry,
  AuditStatus,
  DisclosureHit,
  Finding,
} from '../../../src/contract/audit.ts';
export type {
  Device,
  StudyBannerView,
  StudySummary,
  UnassignedStudy,
} from '../../../src/contract/imaging.ts';
// Issue 16: inbox
export type {
  ImportAnswer,
  InboxMember,
  NotificationChanged,
  NotificationDetail,
  NotificationFacts,
  NotificationListItem,
  PersonMatch,
  QuarantineDetail,
  QuarantineItem,
} from '../../../src/contract/infection-inbox.ts';
// Issue 16: outbreaks and numbers
export type {
  DepartmentNumbers,
  OutbreakListItem,
  OutbreakSetting,
  OutbreakView,
} from '../../../src/contract/infection-outbreaks.ts';
// Issue 16: person merge
export type { PersonMerge, PersonMerges } from '../../../src/contract/person-merge.ts';
// Issue 16: transmission
export type {
  TransmissionListItem,
  TransmissionPreview,
  TransmissionSettings,
} from '../../../src/contract/infection-transmission.ts';
// Issue 16: cases & contacts
export type {
  CaseContacts,
  CaseListItem,
  ContactConverted,
  ContactItem,
  FollowUpDue,
} from '../../../src/contract/infection-cases.ts';
// Issue 17: documents
export type { DocumentItem, FileDocuments, MailroomDocuments } from '../../../src/contract/documents.ts';
// Issue 17: tasks
export type {
  FileTasks,
  Task,
  TaskAssignees,
  Worklist,
  WorklistRow,
} from '../../../src/contract/tasks.ts';
// Issue 17: letters
export type {
  LetterMade,
  LetterRunListItem,
  LetterRunView,
  LetterTemplateKind,
  TemplateCatalogue,
  TemplateContent,
  TemplateListItem,
  TemplateView,
  UsableTemplate,
} from '../../../src/contract/letters.ts';
// Issue 17: import
export type {
  ImportJob,
  ImportJobDetail,
  ImportMapping,
  ImportOutcome,
  ImportReason,
  ImportRow,
  ImportRecordType,
} from '../../../src/contract/import.ts';
