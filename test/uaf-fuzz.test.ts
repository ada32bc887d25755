import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SesameError } from '../src/errors.js';
import { parseTlvs, TAG } from '../src/uaf/tlv.js';
import { decodeAssertion } from '../src/uaf/assertions.js';
import { tlv, UafAuthenticator } from '../sdk/uaf-authenticator.js';

/**
 * The UAFV1TLV parser and the assertion decoder get arbitrary bytes, mutations of real assertions
 * and generated trees of known tags: each input is decoded or refused with a SesameError (a 4xx),
 * never another exception.
 */
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
const KNOWN_TAGS = Object.values(TAG);

const decodesOrRefuses = (bytes: Buffer) => {
  try {
    decodeAssertion(bytes);
  } catch (error) {
    assert.ok(error instanceof SesameError, `not a SesameError: ${(error as Error).stack}`);
    assert.ok(error.status >= 400 && error.status < 500);
  }
};

const authenticator = new UafAuthenticator({ facetId: 'https://sesame.example' });
const request = (op: string) => [{ header: { upv: { major: 1, minor: 1 }, op, appID: 'https://sesame.example/a/uaf/trusted-facets' }, challenge: 'AAAAAAAAAAAAAAAAAAAAAA', username: 'u', policy: { accepted: [[{ aaid: ['FFFF#FC01'] }]] } }];
const realReg = Buffer.from(authenticator.register(request('Reg'))[0]!.assertions[0]!.assertion, 'base64url');

test('arbitrary bytes: decoded or a 4xx', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => decodesOrRefuses(Buffer.from(bytes))), { seed: SEED, numRuns: 3000 });
});

test('a real registration assertion, cut, flipped or stretched: decoded or a 4xx', () => {
  fc.assert(fc.property(fc.nat(realReg.length - 1), fc.nat(255), fc.integer({ min: 0, max: 2 }), (at, byte, how) => {
    const copy = Buffer.from(realReg);
    if (how === 0) return decodesOrRefuses(copy.subarray(0, at));
    copy[at] = byte;
    return decodesOrRefuses(how === 1 ? copy : Buffer.concat([copy, Buffer.of(byte)]));
  }), { seed: SEED, numRuns: 3000 });
});

test('generated trees of known tags: parsed back exactly, then decoded or a 4xx', () => {
  const leaf = fc.record({ tag: fc.constantFrom(...KNOWN_TAGS.filter((t) => (t & 0x1000) === 0)), value: fc.uint8Array({ maxLength: 40 }) })
    .map(({ tag, value }) => tlv(tag, Buffer.from(value)));
  const { tree } = fc.letrec((tie) => ({
    tree: fc.oneof({ depthSize: 'small' }, leaf, fc.record({ tag: fc.constantFrom(...KNOWN_TAGS.filter((t) => (t & 0x1000) !== 0)), kids: fc.array(tie('tree') as fc.Arbitrary<Buffer>, { maxLength: 5 }) })
      .map(({ tag, kids }) => tlv(tag, ...kids))),
  }));
  fc.assert(fc.property(tree as fc.Arbitrary<Buffer>, (bytes) => {
    let parsed;
    try {
      parsed = parseTlvs(bytes);
    } catch (error) {
      // Only nesting deeper than UAF allows is refused.
      assert.ok(error instanceof SesameError && /nested too deeply/.test(error.message), String(error));
      return;
    }
    assert.equal(parsed.length, 1);
    assert.ok(parsed[0]!.raw.equals(bytes));
    decodesOrRefuses(bytes);
  }), { seed: SEED, numRuns: 1500 });
});
