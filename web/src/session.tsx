// The signed-in user, shared by every screen.
import { createContext, useContext } from 'react';
import type { Department, Me } from './api/types.ts';

export const SessionContext = createContext<{ me: Me; reload: () => Promise<void> } | null>(null);

export function useSession(): { me: Me; reload: () => Promise<void> } {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside the signed-in shell');
  return s;
}

export function departmentName(me: Me, id: string): string {
  const d: Department | undefined = me.departments.find((x) => x.id === id);
  return d ? d.name : id;
}

export const isMember = (me: Me) => me.memberships.length > 0;
export const isAdmin = (me: Me) => me.tenantRoles.includes('admin');
export const isDpo = (me: Me) => me.tenantRoles.includes('dpo');
/** The DPO reads the whole log; a head the log of its departments' files. */
export const readsAudit = (me: Me) => isDpo(me) || me.memberships.some((m) => m.role === 'head');
/** Who may be asked to approve a grant or a reset link: admins, DPOs and heads. */
export const approves = (me: Me) => isAdmin(me) || isDpo(me) || me.memberships.some((m) => m.role === 'head');
/** The departments whose unassigned studies the user links to files by hand: where they are a physician or the head. */
export const linksStudies = (me: Me) => [
  ...new Set(me.memberships.filter((m) => m.role === 'physician' || m.role === 'head').map((m) => m.departmentId)),
];
