// What every PDU shares (PS3.8 §9.3): a 6-byte header of type, reserved byte
// and big-endian body length, and the error that makes us abort the
// association when a peer's bytes break the protocol.

export const PduType = {
  AssociateRq: 0x01,
  AssociateAc: 0x02,
  AssociateRj: 0x03,
  PData: 0x04,
  ReleaseRq: 0x05,
  ReleaseRp: 0x06,
  Abort: 0x07,
} as const;

export const PDU_HEADER_LENGTH = 6;

/** A-ABORT source (PS3.8 Table 9-26); 1 is reserved. */
export const AbortSource = { ServiceUser: 0, ServiceProvider: 2 } as const;

/** A-ABORT reason when the service provider aborts; 3 is reserved. */
export const AbortReason = {
  NotSpecified: 0,
  UnrecognizedPdu: 1,
  UnexpectedPdu: 2,
  UnrecognizedPduParameter: 4,
  UnexpectedPduParameter: 5,
  InvalidPduParameterValue: 6,
} as const;
export type AbortReason = (typeof AbortReason)[keyof typeof AbortReason];

/** The peer broke PS3.8; answer with A-ABORT(service-provider, `abortReason`) and close. */
export class PduError extends Error {
  readonly abortReason: AbortReason;
  constructor(message: string, abortReason: AbortReason) {
    super(message);
    this.abortReason = abortReason;
  }
}

/**
 * The peer sent more than we hold for it (a PDU's claimed length, a command set,
 * an identifier…): abort, like a protocol error, and record which limit it was.
 */
export class LimitExceeded extends PduError {
  /** Which limit: 'pdu-length', 'command-set', 'identifier', … */
  readonly limit: string;
  /** The limit in bytes, and how many the peer had sent or announced when it was crossed. */
  readonly max: number;
  readonly size: number;
  constructor(limit: string, max: number, size: number, abortReason: AbortReason = AbortReason.NotSpecified) {
    super(`${limit} of ${size} bytes or more, over the limit of ${max}`, abortReason);
    this.limit = limit;
    this.max = max;
    this.size = size;
  }
}

export function framePdu(type: number, body: Buffer): Buffer {
  const pdu = Buffer.allocUnsafe(PDU_HEADER_LENGTH + body.length);
  pdu[0] = type;
  pdu[1] = 0;
  pdu.writeUInt32BE(body.length, 2);
  body.copy(pdu, PDU_HEADER_LENGTH);
  return pdu;
}
