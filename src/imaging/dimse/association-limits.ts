// How many associations the listener holds at once per calling device and per
// remote address. A connection counts for its address from the moment it is
// accepted (before it has asked for anything), and for its device once the
// device is identified; both are given back when the connection closes. Over
// a limit the caller gets A-ASSOCIATE-RJ (transient, local limit exceeded).

const DEFAULT_MAX_ASSOCIATIONS_PER_DEVICE = 8;
const DEFAULT_MAX_ASSOCIATIONS_PER_ADDRESS = 16;

/** Gives back what a claim took; calling it again does nothing. */
export type Release = () => void;

export class AssociationLimits {
  readonly #byAddress = new Map<string, number>();
  readonly #byDevice = new Map<string, number>();

  readonly perDevice: number;
  readonly perAddress: number;
  constructor(perDevice = DEFAULT_MAX_ASSOCIATIONS_PER_DEVICE, perAddress = DEFAULT_MAX_ASSOCIATIONS_PER_ADDRESS) {
    this.perDevice = perDevice;
    this.perAddress = perAddress;
    if (!(perDevice >= 1 && perAddress >= 1)) throw new RangeError('association limits must be at least 1');
  }

  /** A place for one more connection from `address`, or undefined when it holds its limit. */
  claimAddress(address: string): Release | undefined {
    return claim(this.#byAddress, normaliseAddress(address), this.perAddress);
  }

  /** A place for one more association of the device `deviceId`, or undefined when it holds its limit. */
  claimDevice(deviceId: string): Release | undefined {
    return claim(this.#byDevice, deviceId, this.perDevice);
  }

  /** Associations held now (for tests and the log). */
  held(): { addresses: number; devices: number } {
    const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
    return { addresses: sum(this.#byAddress), devices: sum(this.#byDevice) };
  }
}

function claim(counts: Map<string, number>, key: string, limit: number): Release | undefined {
  const n = counts.get(key) ?? 0;
  if (n >= limit) return undefined;
  counts.set(key, n + 1);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const left = (counts.get(key) ?? 1) - 1;
    if (left > 0) counts.set(key, left);
    else counts.delete(key);
  };
}

/** '::ffff:10.0.0.1' and '10.0.0.1' are one address. */
function normaliseAddress(a: string): string {
  return (a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a).toLowerCase();
}
