import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runWebAuthnCase, type WebAuthnCase } from '../src/vectors/webauthn-cases.js';

/**
 * The external WebAuthn vectors in ../shared/vectors, through the server's own verification code.
 * Each case runs with its own trust anchors, clock and relying-party expectations; every case must
 * give its stated result, and nothing may be deferred.
 */
const VECTORS = new URL('../../shared/vectors/', import.meta.url);

for (const file of ['webauthn-registration.jsonl', 'webauthn-authentication.jsonl']) {
  const path = new URL(file, VECTORS);
  describe(`vectors: ${file}`, { skip: !fs.existsSync(path) && 'shared vectors not present' }, () => {
    const cases = fs.existsSync(path) ? fs.readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as WebAuthnCase) : [];
    for (const c of cases) {
      test(c.case, async () => {
        const outcome = await runWebAuthnCase(c, fileURLToPath(VECTORS));
        assert.equal(outcome.verdict, 'pass', outcome.detail);
      });
    }
  });
}
