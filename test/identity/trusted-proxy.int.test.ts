// Which client address the login throttle counts: the socket's, unless the
// connection comes from a proxy named in KARTEI_TRUSTED_PROXY, whose
// X-Forwarded-For then names the client (the rightmost address that is not a
// trusted proxy itself). Without that setting the header is ignored.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../src/config/config.ts';
import * as throttle from '../../src/identity/throttle.ts';
import { startHarness, type Harness } from '../helpers/harness.ts';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h.close());

/** One login attempt from a client address, optionally with an X-Forwarded-For header. */
async function loginFrom(
  ip: string,
  username: string,
  password: string,
  forwardedFor?: string,
  harness = h,
): Promise<{ status: number }> {
  const res = await harness.app.inject({
    method: 'POST',
    url: '/api/auth/login',
    remoteAddress: ip,
    headers: { 'content-type': 'application/json', ...(forwardedFor ? { 'x-forwarded-for': forwardedFor } : {}) },
    payload: JSON.stringify({ username, password }),
  });
  return { status: res.statusCode };
}

const count = (replies: { status: number }[], status: number) => replies.filter((r) => r.status === status).length;

test('without a trusted proxy X-Forwarded-For is ignored: rotating it does not escape the address limit', async () => {
  const ip = '203.0.113.50';
  const spray = await Promise.all(
    Array.from({ length: throttle.LIMITS.address }, (_, i) =>
      loginFrom(ip, `xff-${i}`, 'Sommer2024!!-Versuch', `192.0.2.${(i % 250) + 1}`),
    ),
  );
  assert.equal(count(spray, 401), throttle.LIMITS.address);
  assert.equal((await loginFrom(ip, 'xff-more', 'Sommer2024!!-Versuch', '192.0.2.251')).status, 429);
  // The forwarded addresses themselves were not charged.
  assert.equal((await loginFrom('192.0.2.1', 'xff-other', 'Sommer2024!!-Versuch')).status, 401);
});

test('KARTEI_TRUSTED_PROXY: the forwarded address counts, but only from that proxy; a spoofed header does not help', async () => {
  const proxy = '198.18.0.10';
  const hp = await startHarness({ env: { KARTEI_TRUSTED_PROXY: `${proxy}, 198.18.1.0/24` } });
  try {
    const [client, other] = ['192.0.2.77', '192.0.2.78'];
    const spray = await Promise.all(
      Array.from({ length: throttle.LIMITS.address }, (_, i) =>
        loginFrom(proxy, `fwd-${i}`, 'Sommer2024!!-Versuch', client, hp),
      ),
    );
    assert.equal(count(spray, 401), throttle.LIMITS.address);
    // That client is throttled, even when it puts another address in front of its own.
    assert.equal((await loginFrom(proxy, 'fwd-more', 'Sommer2024!!-Versuch', client, hp)).status, 429);
    assert.equal((await loginFrom(proxy, 'fwd-more', 'Sommer2024!!-Versuch', `${other}, ${client}`, hp)).status, 429);
    // Another client behind the same proxy (and through a proxy in the trusted range) is not.
    assert.equal((await loginFrom(proxy, 'fwd-other', 'Sommer2024!!-Versuch', other, hp)).status, 401);
    assert.equal((await loginFrom('198.18.1.5', 'fwd-other', 'Sommer2024!!-Versuch', other, hp)).status, 401);
    // A caller that is not the proxy cannot claim to be someone else, nor be mistaken for the throttled client.
    assert.equal((await loginFrom('192.0.2.99', 'fwd-direct', 'Sommer2024!!-Versuch', client, hp)).status, 401);
    assert.equal((await loginFrom(client, 'fwd-direct', 'Sommer2024!!-Versuch', undefined, hp)).status, 429);
  } finally {
    await hp.close();
  }
});

test('KARTEI_TRUSTED_PROXY is parsed as addresses and CIDR ranges; anything else refuses to start', () => {
  assert.deepEqual(loadConfig({}).trustedProxies, []);
  assert.deepEqual(loadConfig({ KARTEI_TRUSTED_PROXY: ' 10.0.0.1, 10.1.0.0/16 ,::1, fd00::/8 ' }).trustedProxies, [
    '10.0.0.1',
    '10.1.0.0/16',
    '::1',
    'fd00::/8',
  ]);
  for (const bad of ['proxy.example', '10.0.0.0/33', '10.0.0.1/', '*', 'true', '10.0.0.1,,', '0.0.0.0/0', '::/0']) {
    assert.throws(() => loadConfig({ KARTEI_TRUSTED_PROXY: bad }), ConfigError, bad);
  }
});
