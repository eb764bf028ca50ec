// The package names a declaration file it does not ship; this is the part Kartei uses.
declare module 'jpeg-lossless-decoder-js' {
  export class Decoder {
    /** Where decoding read up to: past the end when the stream was cut short (the decoder reads on as zeros). */
    stream: { index: number } | null;
    /** The frame's samples, colour by pixel: 8-bit ones as bytes, wider ones as 16-bit words. */
    decode(buffer: ArrayBufferLike, offset?: number, length?: number, numBytes?: number): Uint8Array | Uint16Array;
  }
}
