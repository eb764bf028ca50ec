// The shapes the web application reads from the API (see /api/openapi.json).
import type { PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/browser';

export type DepartmentRole = 'clerk' | 'physician' | 'head';
export type TenantRole = 'admin' | 'dpo';
export type Sensitivity = 'normal' | 'restricted';

export interface Department {
  id: string;
  code: string;
  name: string;
}

export interface Membership {
  departmentId: string;
  role: DepartmentRole;
}

export interface Me {
  id: string;
  username: string;
  displayName: string;
  tenantRoles: TenantRole[];
  memberships: Membership[];
  departments: Department[];
}

export interface LoginStep {
  /** `webauthn`: an account whose second factors are passkeys only (a recovery code still works). */
  mfa: 'totp' | 'enroll' | 'webauthn';
  challenge: string;
  totp?: { secret: string; uri: string };
  /** The user has passkeys: the options for the browser's authentication ceremony (POST /api/auth/webauthn). */
  webauthn?: PublicKeyCredentialRequestOptionsJSON;
}

export interface Passkey {
  id: string;
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
}

export interface PersonListItem {
  id: string;
  departmentId: string;
  familyName: string;
  givenName: string;
  birthDate: string;
}

export interface Address {
  street?: string;
  postalCode?: string;
  city?: string;
  country?: string;
}

export interface Person extends PersonListItem {
  sex?: 'female' | 'male' | 'diverse' | 'unknown';
  address?: Address;
  /** The DICOM Patient ID the department's devices send for this person: studies with it link to this file. */
  dicomPatientId?: string;
  version: number;
  createdAt: string;
  updatedAt: string;
}

/** A person's file as its page shows it: with what the caller may do to it, as the policy decides. */
export interface PersonFileView extends Person {
  /** What the policy allows the caller here, so that a screen offers only that. */
  permissions: { update: boolean; createRecord: boolean; createRestrictedRecord: boolean; readRestricted: boolean; share: boolean; accessLog: boolean };
  /** The caller's own running emergency access to this file (the server's word, so it survives a reload). */
  emergencyAccess: { expiresAt: string } | null;
  /** For a member of the owning department who may not share: the heads who may. */
  shareAskHeads?: string[];
}

export interface RecordSummary {
  id: string;
  personId: string;
  type: string;
  sensitivity: Sensitivity;
  version: number;
  createdAt: string;
  createdBy: string;
  updatedAt: string;
}

/** A record as a file's list shows it (a page of them, newest first). */
export interface RecordListItem extends RecordSummary {
  createdByName: string | null;
  updatedBy: string;
  updatedByName: string | null;
  /** Title or first line; null where the caller may not read the record. */
  title: string | null;
}

export interface RecordView extends RecordSummary {
  content: Record<string, unknown>;
  /** `restrict`: may mark this record restricted. */
  permissions: { update: boolean; restrict: boolean; delete: boolean };
}

export interface RecordVersion {
  version: number;
  sensitivity: Sensitivity;
  createdAt: string;
  createdBy: string;
  createdByName: string | null;
  /** Fields changed against the version before ([] for the first; null where either is not the caller's to read). */
  changes: string[] | null;
}

/** One version's content (`GET /api/records/:id/versions/:version`). */
export interface RecordVersionContent {
  version: number;
  sensitivity: Sensitivity;
  createdAt: string;
  createdByName: string | null;
  content: Record<string, unknown>;
}

export interface Device {
  id: string;
  aeTitle: string;
  departmentId: string;
  permissions: ('store' | 'find' | 'retrieve')[];
  certificate: { fingerprint256: string; subject: string; validTo: string } | null;
  host: string | null;
  port: number | null;
  createdAt: string;
}

export interface StudySummary {
  studyUid: string;
  studyDate: string | null;
  description: string | null;
  modalities: string[];
  seriesCount: number;
  instanceCount: number;
  /** What the viewer shows first: the lowest-numbered series' lowest-numbered image. */
  firstImage: { seriesUid: string; sopInstanceUid: string } | null;
  /** Whether the caller may take the study off the file again (a physician of its department). */
  unlink?: boolean;
}

/** The patient as a study's DICOM header names them (not a file's data). */
export interface StudyPatient {
  familyName: string;
  givenName: string;
  birthDate: string | null;
  patientId: string;
}

/** A study of a department linked to no file yet (GET /api/departments/:id/unassigned-studies). */
export interface UnassignedStudy extends StudySummary {
  patient: StudyPatient;
}

/** Whose study it is, for the viewer's banner (GET /api/studies/:uid): the linked file's person, else the header's. */
export interface StudyBannerView {
  studyUid: string;
  studyDate: string | null;
  studyTime: string | null;
  description: string;
  modalities: string[];
  department: Department;
  /** Linked to a file; `person` is that file's person (null where the caller may not read the file, e.g. a DICOMweb token). */
  linked: boolean;
  person: { id: string; familyName: string; givenName: string; birthDate: string } | null;
  patient: StudyPatient;
}

export interface UserView {
  id: string;
  username: string;
  displayName: string;
  active: boolean;
  mfaEnrolled: boolean;
  /** Who chose the password: the person, an administrator (before enrolment links), or nobody yet. */
  passwordOrigin: 'self' | 'admin' | 'none';
  tenantRoles: TenantRole[];
  /** Memberships waiting for a second account's approval have `state: 'pending'` and grant nothing. */
  memberships: (Membership & { state: 'active' | 'pending' })[];
  pendingRoles: { role: TenantRole; state: 'pending' }[];
}


export interface Finding {
  severity: 'critical' | 'high' | 'medium' | 'low' | 'info';
  /** Stable: the screen words the finding from it (the English title and fix are for the CLI). */
  code: string;
  params?: Record<string, string | number>;
  title: string;
  fix: string;
}

export interface AuditStatus {
  ok: boolean;
  verifiedUpTo: number;
  firstBad: { seq: number; problem: string } | null;
  lastCheckpoint: { seq: number; at: string } | null;
}

export interface Share {
  id: string;
  departmentId: string;
  purpose: string;
  until: string;
  createdAt: string;
}

// Shapes the server defines for both sides.
export type { AccessLine, AccessReportAnswer, DisclosureHit } from '../../../src/http/answers.ts';
export type { AccessCount, ApiToken, ApprovalView as Approval, AuditEntry, EmergencyHit, EmergencySearchAnswer, EnrolmentLink, ReviewItem as Review } from '../../../src/http/answers.ts';
