// Our answer to an A-ASSOCIATE-RQ as the acceptor: each presentation context
// accepted with the first transfer syntax of our preference that the peer
// offers, or rejected with the reason; roles granted only where we asked for
// them (PS3.7 D.3.3.4); the whole request rejected only for a wrong
// application context or protocol version. Whether the calling and called AE
// titles are welcome is the server's decision, taken before this.
import {
  ContextResult,
  RejectReason,
  RejectResult,
  RejectSource,
  type AssociateAc,
  type AssociateRj,
  type AssociateRq,
  type ContextAnswer,
  type RoleSelection,
} from './association.ts';
import { APPLICATION_CONTEXT, isStorageSopClass } from './uids.ts';

export interface NegotiationPolicy {
  acceptedAbstractSyntaxes: (uid: string) => boolean;
  /** Transfer syntaxes we take, best first, for all abstract syntaxes or per abstract syntax. */
  transferSyntaxPreference: readonly string[] | ((abstractSyntax: string) => readonly string[]);
  /** SOP classes for which the requester may act as SCP, as a C-GET SCU does for storage; default: storage classes. */
  requesterMayBeScp?: (sopClass: string) => boolean;
  ourMaxPduLength: number;
  implementationClassUid: string;
  implementationVersionName?: string;
}

export interface AcceptedContext {
  abstractSyntax: string;
  transferSyntax: string;
}

export type Negotiation =
  | { accepted: true; ac: AssociateAc; contexts: Map<number, AcceptedContext> }
  | { accepted: false; rj: AssociateRj };

export function negotiate(rq: AssociateRq, policy: NegotiationPolicy): Negotiation {
  if (rq.applicationContext !== APPLICATION_CONTEXT) {
    return reject(RejectSource.ServiceUser, RejectReason.ApplicationContextNotSupported);
  }
  // Bit 0 is protocol version 1, the only one there is.
  if ((rq.protocolVersion & 1) === 0) return reject(RejectSource.Acse, RejectReason.ProtocolVersionNotSupported);

  const preference = policy.transferSyntaxPreference;
  const contexts = new Map<number, AcceptedContext>();
  const answers = rq.presentationContexts.map(({ id, abstractSyntax, transferSyntaxes }): ContextAnswer => {
    if (!policy.acceptedAbstractSyntaxes(abstractSyntax)) {
      return { id, result: ContextResult.AbstractSyntaxNotSupported, transferSyntax: transferSyntaxes[0]! };
    }
    const ours = typeof preference === 'function' ? preference(abstractSyntax) : preference;
    const chosen = ours.find((ts) => transferSyntaxes.includes(ts));
    if (chosen === undefined)
      return { id, result: ContextResult.TransferSyntaxesNotSupported, transferSyntax: transferSyntaxes[0]! };
    contexts.set(id, { abstractSyntax, transferSyntax: chosen });
    return { id, result: ContextResult.Acceptance, transferSyntax: chosen };
  });

  const mayBeScp = policy.requesterMayBeScp ?? isStorageSopClass;
  const accepted = new Set([...contexts.values()].map((c) => c.abstractSyntax));
  const roleSelections = new Map<string, RoleSelection>();
  for (const [sopClass, proposed] of rq.roleSelections) {
    if (accepted.has(sopClass))
      roleSelections.set(sopClass, { scu: proposed.scu, scp: proposed.scp && mayBeScp(sopClass) });
  }

  const ac: AssociateAc = {
    protocolVersion: 1,
    calledAeTitle: rq.calledAeTitle,
    callingAeTitle: rq.callingAeTitle,
    applicationContext: APPLICATION_CONTEXT,
    presentationContexts: answers,
    maxPduLength: policy.ourMaxPduLength,
    implementationClassUid: policy.implementationClassUid,
    ...(policy.implementationVersionName ? { implementationVersionName: policy.implementationVersionName } : {}),
    roleSelections,
  };
  return { accepted: true, ac, contexts };
}

const reject = (source: number, reason: number): Negotiation => ({
  accepted: false,
  rj: { result: RejectResult.Permanent, source, reason },
});
