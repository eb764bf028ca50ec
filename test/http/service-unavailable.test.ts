// s27: a request whose database (or image store) cannot be reached is answered 503 service-unavailable with
// Retry-After, not 500 internal-error — wherever in the error's chain of causes the driver's error sits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toKarteiError } from '../../src/http/problem.ts';
import { StoreClosed } from '../../src/db/group-commit.ts';

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

test('what says the database or image store was not reached is service-unavailable, 503, Retry-After', () => {
  const unreachable = [
    new Error('Connection terminated due to connection timeout', { cause: new Error('timeout expired') }),
    new Error('timeout exceeded when trying to connect'),
    new Error('timeout expired'),
    new Error('Connection terminated unexpectedly'),
    withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'),
    withCode('read ECONNRESET', 'ECONNRESET'),
    withCode('write EPIPE', 'EPIPE'),
    withCode('terminating connection due to administrator command', '57P01'),
    withCode('the database system is starting up', '57P03'),
    withCode('connection failure', '08006'),
    withCode('sorry, too many clients already', '53300'),
    new Error('query failed', { cause: withCode('getaddrinfo ENOTFOUND db.amt', 'ENOTFOUND') }),
    // s28: a request's work asked for while the SQLite store closes (a stop).
    new StoreClosed(),
  ];
  for (const e of unreachable) {
    const k = toKarteiError(e);
    assert.equal(k.code, 'service-unavailable', e.message);
    assert.equal(k.status, 503);
    assert.equal(k.headers?.['retry-after'], '30');
  }
});

test('other failures stay internal-error: a timeout that is not pg’s connection limit, a constraint, a look-alike message', () => {
  for (const e of [
    new Error('timeout'),
    withCode('duplicate key value violates unique constraint', '23505'),
    new Error('Connection terminated due to connection timeout, said a user'),
  ])
    assert.equal(toKarteiError(e).code, 'internal-error', e.message);
});
