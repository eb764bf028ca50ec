// A real OpenID provider for the single sign-on tests: oidc-provider on a
// loopback port, with clients for the offices under test. Who signs in next,
// and with which `acr`/`amr`, is set by the test (`nextLogin`); the provider's
// own login and consent pages are replaced by an interaction that finishes at
// once with that person. It listens on 127.0.0.1 only and stops with `close()`.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { Provider } from 'oidc-provider';

export interface TestLogin {
  sub: string;
  acr?: string;
  amr?: string[];
}

export interface TestClient {
  clientId: string;
  clientSecret: string;
  redirectUri: string;
}

export interface TestProvider {
  issuer: string;
  nextLogin: TestLogin;
  /** Follows the provider's redirects from an authorization URL to the redirect back to the client; a fresh browser each time. */
  authorize(url: string): Promise<URL>;
  close(): Promise<void>;
}

export const ACR_MFA = 'urn:kartei:test:mfa';
export const ACR_PASSWORD = 'urn:kartei:test:pwd';

export async function startProvider(clients: TestClient[], opts: { idTokenTtl?: number } = {}): Promise<TestProvider> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const state: { nextLogin: TestLogin } = { nextLogin: { sub: 'nobody' } };
  const provider = new Provider(issuer, {
    clients: clients.map((c) => ({
      client_id: c.clientId,
      client_secret: c.clientSecret,
      redirect_uris: [c.redirectUri],
      response_types: ['code'],
      grant_types: ['authorization_code'],
      token_endpoint_auth_method: 'client_secret_post',
    })),
    pkce: { required: () => true },
    acrValues: [ACR_MFA, ACR_PASSWORD],
    // acr and amr in every ID token, as a district's provider would send them (left out when the login had none).
    claims: { openid: ['sub', 'acr', 'amr'], acr: null, amr: null, auth_time: null, sid: null, iss: null },
    findAccount: async (_ctx: unknown, sub: string) => ({ accountId: sub, claims: async () => ({ sub }) }),
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    features: { devInteractions: { enabled: false } },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    ttl: {
      IdToken: opts.idTokenTtl ?? 3600,
      AccessToken: 600,
      AuthorizationCode: 60,
      Interaction: 600,
      Session: 600,
      Grant: 600,
    },
  });
  // The provider warns about its development keys; the tests need no such noise.
  provider.on('server_error', () => {});
  const handle = provider.callback();
  server.on('request', (req, res) => {
    if (req.url?.startsWith('/interaction/')) {
      void (async () => {
        const details = await provider.interactionDetails(req, res);
        if (details.prompt.name === 'login') {
          const { sub, acr, amr } = state.nextLogin;
          await provider.interactionFinished(
            req,
            res,
            { login: { accountId: sub, ...(acr ? { acr } : {}), ...(amr ? { amr } : {}), remember: false } },
            { mergeWithLastSubmission: false },
          );
          return;
        }
        const grant = new provider.Grant({
          accountId: details.session!.accountId!,
          clientId: details.params.client_id as string,
        });
        grant.addOIDCScope('openid');
        await provider.interactionFinished(
          req,
          res,
          { consent: { grantId: await grant.save() } },
          { mergeWithLastSubmission: true },
        );
      })().catch((e) => {
        res.statusCode = 500;
        res.end(String(e));
      });
      return;
    }
    handle(req, res);
  });

  return {
    issuer,
    get nextLogin() {
      return state.nextLogin;
    },
    set nextLogin(l: TestLogin) {
      state.nextLogin = l;
    },
    async authorize(start: string) {
      const jar = new Map<string, string>();
      let url = new URL(start);
      for (let hop = 0; hop < 10; hop++) {
        if (url.origin !== issuer) return url;
        const res = await fetch(url, {
          redirect: 'manual',
          headers: { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') },
        });
        for (const c of res.headers.getSetCookie()) {
          const [pair] = c.split(';');
          const eq = pair!.indexOf('=');
          jar.set(pair!.slice(0, eq), pair!.slice(eq + 1));
        }
        const location = res.headers.get('location');
        if (!location)
          throw new Error(`provider answered ${res.status} at ${url.pathname}: ${(await res.text()).slice(0, 300)}`);
        url = new URL(location, url);
      }
      throw new Error('too many redirects at the provider');
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
