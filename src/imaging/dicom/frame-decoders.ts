// The compressions Kartei decodes itself, by transfer syntax, into the frame an
// uncompressed instance would hold. Free of Node-only code: the server renders
// with them, the viewer draws with them.
import { decodeJpegLosslessFrame } from './jpeg-lossless.ts';
import { decodeRleFrame, type FrameShape } from './rle.ts';
import { TransferSyntax } from './uids.ts';

/** The frame's pixels in a buffer of their own from offset 0 (the viewer lays 16-bit views over it); throws FrameDecodeError. */
export type FrameDecoder = (frame: Uint8Array, f: FrameShape) => Uint8Array;

export const FRAME_DECODERS: Readonly<Record<string, FrameDecoder>> = {
  [TransferSyntax.RleLossless]: decodeRleFrame,
  [TransferSyntax.JpegLossless]: decodeJpegLosslessFrame,
  [TransferSyntax.JpegLosslessSv1]: decodeJpegLosslessFrame,
};
