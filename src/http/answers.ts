// The shapes of API answers that the web application reads as well: free of
// Node code, so that server and browser type-check against one definition.

export interface AuditEntry {
  seq: number;
  at: string;
  actorId: string | null;
  /** The actor's display name, when the actor is a user of the office. */
  actorName: string | null;
  action: string;
  resourceType: string;
  resourceId: string | null;
  personId: string | null;
  outcome: 'allowed' | 'denied' | 'error';
  reason: string | null;
  /**
   * Non-personal facts of the event (ids, role names, counts, codes), e.g. the
   * roles and memberships a grant gave or took, a result count, a refusal's code.
   */
  detail: Record<string, string | number | boolean> | null;
}

export interface AccessCount {
  /** The UTC day, YYYY-MM-DD. */
  day: string;
  departmentId: string | null;
  count: number;
}

/** An emergency access waiting for review. */
export interface ReviewItem {
  id: string;
  personId: string;
  departmentId: string;
  userId: string;
  userName: string | null;
  reason: string;
  createdAt: string;
  expiresAt: string;
}

export interface ApiToken {
  id: string;
  name: string;
  createdAt: string;
  expiresAt: string;
  lastUsedAt: string | null;
}
