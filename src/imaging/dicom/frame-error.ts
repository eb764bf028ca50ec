/** A compressed frame that cannot be decoded into the image its attributes describe. */
export class FrameDecodeError extends Error {}
