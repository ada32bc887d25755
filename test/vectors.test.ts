import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runWebAuthnCase, type WebAuthnCase } from '../src/vectors/webauthn-cases.js';

/**
 * The external WebAuthn vectors in ../shared/vectors, through the server's own verification code.
 * Each case runs with its own trust anchors and clock; nothing may be deferred.
 * KNOWN_GAPS are cases Sesame does not pass yet, each with its reason; the test fails if one of
 * them starts passing (so the list is kept honest) or if any other case mismatches.
 */
const VECTORS = new URL('../../shared/vectors/', import.meta.url);
const KNOWN_GAPS: Record<string, string> = {
  // WebAuthn L3 §7.2 leaves a cross-origin (framed) ceremony to the RP's policy. Sesame's pages cannot
  // be framed (CSP frame-ancestors 'none'), so an assertion made inside another site's frame is refused.
  'w3c-auth-04': 'an assertion made in a cross-origin frame (topOrigin https://example.com) is refused by policy',
};

for (const file of ['webauthn-registration.jsonl', 'webauthn-authentication.jsonl']) {
  const path = new URL(file, VECTORS);
  describe(`vectors: ${file}`, { skip: !fs.existsSync(path) && 'shared vectors not present' }, () => {
    const cases = fs.existsSync(path) ? fs.readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as WebAuthnCase) : [];
    for (const c of cases) {
      test(c.case, async () => {
        const outcome = await runWebAuthnCase(c, fileURLToPath(VECTORS));
        if (KNOWN_GAPS[c.case]) {
          assert.equal(outcome.verdict, 'mismatch', `${c.case} now ${outcome.verdict}: remove it from KNOWN_GAPS`);
          return;
        }
        assert.equal(outcome.verdict, 'pass', outcome.detail);
      });
    }
  });
}
