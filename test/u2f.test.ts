import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { runU2fCase, type U2fCase } from '../src/vectors/u2f-cases.js';
import { verifyU2fRegistration, verifyU2fSignature } from '../src/u2f/verify.js';

/** The FIDO U2F vectors in ../shared/vectors (never copied here), through src/u2f. */
const VECTORS = new URL('../../shared/vectors/u2f.jsonl', import.meta.url);
const present = fs.existsSync(VECTORS);
const cases = present ? fs.readFileSync(VECTORS, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as U2fCase) : [];
const byId = (id: string) => cases.find((c) => c.case === id)!;

describe('vectors: u2f.jsonl', { skip: !present && 'shared vectors not present' }, () => {
  for (const c of cases) {
    test(`${c.case} is ${c.expect}`, () => {
      const outcome = runU2fCase(c);
      assert.equal(outcome.verdict, 'pass', outcome.detail);
    });
  }

  test('the attestation certificate is checked at the given clock', () => {
    const c = byId('u2f-reg-01'); // PilotGnubby certificate: 2012-08-14 to 2013-08-14
    const expected = { appId: c.appId, facets: c.facets, challenge: c.challenge };
    assert.throws(() => verifyU2fRegistration(c.registerResponse!, { ...expected, at: new Date('2024-01-01') }), /expired on Aug 14 18:29:32 2013/);
    assert.throws(() => verifyU2fRegistration(c.registerResponse!, { ...expected, at: new Date('2012-01-01') }), /not yet valid/);
    const verified = verifyU2fRegistration(c.registerResponse!, { ...expected, at: new Date('2013-01-01') });
    assert.equal(verified.keyHandle.toString('base64url'), c.expectedKeyHandle);
    const valid2062 = byId('u2f-reg-02'); // Gnubby HSM CA attestation, valid to 2062
    verifyU2fRegistration(valid2062.registerResponse!, { ...expected, at: new Date() });
  });

  test('the registration signature covers the AppID', () => {
    const c = byId('u2f-reg-01');
    assert.throws(() => verifyU2fRegistration(c.registerResponse!, { appId: 'https://example.com', facets: c.facets, challenge: c.challenge, at: new Date('2013-01-01') }),
      /attestation signature does not match/);
  });

  test('the counter must move forward and the signature covers the AppID', () => {
    const c = byId('u2f-sign-01'); // counter 1
    const expected = { appId: c.appId, facets: c.facets, challenge: c.challenge };
    const key = { keyHandle: c.registered!.keyHandle, publicKey: Buffer.from(c.registered!.publicKey, 'base64url') };
    assert.deepEqual(verifyU2fSignature(c.signResponse!, { ...key, counter: 0 }, expected), { counter: 1 });
    assert.throws(() => verifyU2fSignature(c.signResponse!, { ...key, counter: 1 }, expected), /counter did not increase \(1 after 1\)/);
    assert.throws(() => verifyU2fSignature(c.signResponse!, { ...key, counter: 0 }, { ...expected, appId: 'https://example.com' }), /signature does not match/);
    assert.throws(() => verifyU2fSignature(c.signResponse!, { ...key, counter: 0 }, { ...expected, challenge: 'other' }), /another challenge/);
  });
});
