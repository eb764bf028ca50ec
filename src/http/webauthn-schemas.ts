// The JSON shapes of WebAuthn answers from the browser (as @simplewebauthn/browser
// sends them), bounded; simplewebauthn verifies their content.
import { z } from 'zod';

const b64url = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .regex(/^[A-Za-z0-9_-]+$/, 'base64url');
const transports = z.array(z.enum(['ble', 'cable', 'hybrid', 'internal', 'nfc', 'smart-card', 'usb'])).max(10);
const common = {
  id: b64url(1400),
  rawId: b64url(1400),
  type: z.literal('public-key'),
  clientExtensionResults: z.looseObject({}),
  authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
};

export const authenticationResponse = z.strictObject({
  ...common,
  response: z.strictObject({
    clientDataJSON: b64url(4096),
    authenticatorData: b64url(4096),
    signature: b64url(1024),
    userHandle: b64url(256).optional(),
  }),
});

export const registrationResponse = z.strictObject({
  ...common,
  response: z.strictObject({
    clientDataJSON: b64url(4096),
    attestationObject: b64url(32_768),
    authenticatorData: b64url(4096).optional(),
    transports: transports.optional(),
    publicKeyAlgorithm: z.number().int().optional(),
    publicKey: b64url(4096).optional(),
  }),
});
