import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { SoftwareAuthenticator } from '../sdk/software-authenticator.js';
import { parseAttestationRoots } from '../src/webauthn/attestation/tenant-roots.js';
import { verifyRegistration } from '../src/webauthn/verify-registration.js';
import { registrationResponseSchema } from '../src/webauthn/response-schema.js';
import { setTenantSettings } from '../src/cli/tenant-settings.js';
import { SesameError } from '../src/errors.js';
import { attestationChain, makeCertificate, type TestCertificate } from './support/attestation-certificates.js';
import { databases, startTestServer, type TestServer } from './support/server.js';
import { UserAgent } from './support/user-agent.js';
import { authorizeUrl, createClient, openSignInPage, proveEmail } from './support/flow.js';
import { sesameCli } from './support/cli.js';
import { blobPayload, testBlobSigner } from './support/mds-blob.js';

/**
 * Attestation trust: the roots a tenant gives (checked on input, `sesame trust`), chains verified to
 * them, to the FIDO metadata's roots or to none, at the verification clock; what each policy does
 * with the result; and what the credential keeps and the account page shows.
 */
const YUBIKEY_5 = 'cb69481e-8ff7-4039-93ec-0a2729a154a8'; // "YubiKey 5 Series" in the bundled AAGUID list
const MDS_AAGUID = '5e1f7e2a-6a0c-4b43-9c3e-21d3f1a0c0de';
const DAY = 86_400_000;
const ICON = 'data:image/png;base64,iVBORw0KGgo=';

const keyWith = (leaf: TestCertificate, chain: TestCertificate[] = [leaf], aaguid = YUBIKEY_5) =>
  new SoftwareAuthenticator({ aaguid, attestation: 'packed', attestationCertificate: { chain: chain.map((c) => c.der), privateKey: leaf.privateKey } });

const refused = (pattern: RegExp) => (error: unknown) => error instanceof SesameError && error.status === 400 && error.code === 'invalid_attestation_root' && pattern.test(error.message);

describe('attestation roots a tenant gives are checked on input', () => {
  const now = new Date();
  const { root, leaf } = attestationChain('Acme');

  test('a CA certificate valid today is taken, with its subject and SHA-256 fingerprint', () => {
    const [parsed] = parseAttestationRoots(root.pem, now);
    assert.equal(parsed!.fingerprint, root.x509.fingerprint256);
    assert.equal(parsed!.subject, 'C=DE, O=Acme, CN=Acme Attestation Root');
  });

  test('an attestation certificate (not a CA), an expired or not yet valid root, text that is no certificate: each refused, saying why', () => {
    assert.throws(() => parseAttestationRoots(leaf.pem, now), refused(/\("C=DE, O=Acme, OU=Authenticator Attestation, CN=Acme Security Key"\) is not a CA certificate/));
    const expired = makeCertificate({ subject: { CN: 'Old Root' }, ca: true, notBefore: new Date(Date.now() - 400 * DAY), notAfter: new Date(Date.now() - DAY) });
    assert.throws(() => parseAttestationRoots(expired.pem, now), refused(/"CN=Old Root"\) expired on \d{4}-\d\d-\d\dT/));
    const future = makeCertificate({ subject: { CN: 'Future Root' }, ca: true, notBefore: new Date(Date.now() + DAY), notAfter: new Date(Date.now() + 400 * DAY) });
    assert.throws(() => parseAttestationRoots(future.pem, now), refused(/is not valid until/));
    assert.throws(() => parseAttestationRoots('-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n', now), refused(/cannot be read as an X\.509 certificate/));
    assert.throws(() => parseAttestationRoots('just some text', now), refused(/holds no PEM certificate/));
    assert.throws(() => parseAttestationRoots(`${root.pem}${leaf.pem}`, now), refused(/^Certificate 2 of 2 .* is not a CA certificate/), 'one bad certificate refuses the file, naming which');
  });
});

describe('attestation chains are verified at the verification clock', () => {
  test('a chain valid in 2020 verifies to its root as of 2020, and not today (the root is named, and why)', async () => {
    const root = makeCertificate({ subject: { C: 'DE', O: 'Acme', CN: 'Acme Attestation Root' }, ca: true, notBefore: new Date('2019-01-01'), notAfter: new Date(Date.now() + 3650 * DAY) });
    const leaf = makeCertificate({ subject: { C: 'DE', O: 'Acme', OU: 'Authenticator Attestation', CN: 'Acme Key 2020' }, issuer: root, ca: false,
      notBefore: new Date('2020-01-01'), notAfter: new Date('2021-01-01') });
    const challenge = Buffer.from('clock test challenge').toString('base64url');
    const origin = 'https://sesame.example';
    const response = registrationResponseSchema.parse(keyWith(leaf).createCredential({ challenge, rp: { id: 'sesame.example', name: 'S' }, user: { id: 'dQ', name: 'u', displayName: 'U' } }, origin));
    const verifyAt = (now: Date) => verifyRegistration(response, { challenge, origin, rpId: 'sesame.example', requireUserVerification: true, attestation: { tenantRootsPem: [root.pem], now } });
    const then = await verifyAt(new Date('2020-06-01'));
    assert.equal(then.attestation.trust.verified, true);
    assert.deepEqual(then.attestation.trust.root, { source: 'tenant', subject: 'C=DE, O=Acme, CN=Acme Attestation Root', fingerprint: root.x509.fingerprint256 });
    const today = await verifyAt(new Date());
    assert.equal(today.attestation.trust.verified, false, 'the signature still verifies; the chain does not, today');
    assert.equal(today.attestation.trust.root?.fingerprint, root.x509.fingerprint256);
    assert.match(today.attestation.trust.reason!, /the certificate "C=DE, O=Acme, OU=Authenticator Attestation, CN=Acme Key 2020" is not valid on/);
  });
});

for (const db of await databases()) {
  describe(`attestation trust over HTTP (${db})`, () => {
    let server: TestServer;
    let n = 0;
    const acme = attestationChain('Acme');

    before(async () => { server = await startTestServer(db); });
    after(() => server.close());

    /** A fresh tenant with the given `tenant set` flags and attestation roots. */
    async function tenantWith(flags: Record<string, string>, roots: string[] = []) {
      const id = `trust-${++n}`;
      await server.services.tenants.createTenant(id, `Trust ${n}`);
      if (Object.keys(flags).length) await setTenantSettings(server.services, id, flags);
      for (const pem of roots) await server.services.attestationRoots.add(id, pem);
      return id;
    }

    async function register(tenantId: string, authenticator: SoftwareAuthenticator, email: string) {
      const client = await createClient(server, { tenantId });
      const ua = new UserAgent(server.origin);
      const { base } = await openSignInPage(ua, authorizeUrl(server, client, {}, tenantId));
      const start = await ua.postJson(`${base}/signup/options`, { email, displayName: 'T', verificationId: await proveEmail(ua, base, email, 'T') });
      assert.equal(start.status, 200, start.text);
      const { challengeId, options } = start.json();
      return ua.postJson(`${base}/signup/verify`, { challengeId, response: authenticator.createCredential(options, ua.origin) });
    }

    const storedPasskey = async (tenantId: string, email: string) => {
      const user = await server.services.passkeys.findUserByEmail(tenantId, email);
      assert.ok(user, `${email} has an account`);
      const [passkey] = await server.services.passkeys.listPasskeys(tenantId, user.id);
      return passkey!;
    };

    test('a chain to the tenant\'s root is attested: the passkey records format, AAGUID, type, the root and the model\'s name', async () => {
      const tenant = await tenantWith({ trust: 'attested' }, [acme.root.pem]);
      const done = await register(tenant, keyWith(acme.leaf), 'acme@example.com');
      assert.equal(done.status, 200, done.text);
      const passkey = await storedPasskey(tenant, 'acme@example.com');
      assert.equal(passkey.attestationFormat, 'packed');
      assert.equal(passkey.aaguid, YUBIKEY_5);
      assert.equal(passkey.attestationType, 'basic');
      assert.equal(passkey.attestationTrusted, true);
      assert.deepEqual(passkey.attestationRoot, { source: 'tenant', subject: 'C=DE, O=Acme, CN=Acme Attestation Root', fingerprint: acme.root.x509.fingerprint256 });
      assert.equal(passkey.attestationNote, null);
      assert.equal(passkey.authenticatorName, 'YubiKey 5 Series', 'from the bundled AAGUID list, no metadata being loaded');
      assert.equal(passkey.authenticatorIcon, null);
      assert.equal(passkey.certificationLevel, null);
    });

    test('a root one tenant trusts anchors nothing at another tenant', async () => {
      const trusting = await tenantWith({ trust: 'attested' }, [acme.root.pem]);
      const stranger = await tenantWith({ trust: 'attested' });
      assert.equal((await register(trusting, keyWith(acme.leaf), 'acme-a@example.com')).status, 200);
      const refusedDone = await register(stranger, keyWith(acme.leaf), 'acme-b@example.com');
      assert.equal(refusedDone.status, 403, refusedDone.text);
      assert.equal(refusedDone.json().error, 'attestation_required');
      assert.equal(await server.services.passkeys.findUserByEmail(stranger, 'acme-b@example.com'), undefined);
    });

    test('a chain to another root: refused under "attested", accepted but recorded as not verified under "any"', async () => {
      const other = attestationChain('Other Maker');
      const attested = await tenantWith({ trust: 'attested' }, [acme.root.pem]);
      const refusedDone = await register(attested, keyWith(other.leaf, [other.leaf, other.root]), 'wrongroot@example.com');
      assert.equal(refusedDone.status, 403, refusedDone.text);
      assert.equal(refusedDone.json().error, 'attestation_required');
      assert.match(refusedDone.json().message, /did not\. Use a FIDO Certified security key/);
      assert.equal(await server.services.passkeys.findUserByEmail(attested, 'wrongroot@example.com'), undefined, 'no account is made');

      const any = await tenantWith({}, [acme.root.pem]);
      const key = keyWith(other.leaf, [other.leaf, other.root]);
      assert.equal((await register(any, key, 'wrongroot@example.com')).status, 200);
      const passkey = await storedPasskey(any, 'wrongroot@example.com');
      assert.equal(passkey.attestationType, 'basic');
      assert.equal(passkey.attestationTrusted, false);
      assert.equal(passkey.attestationRoot, null);
      assert.equal(passkey.attestationNote, 'the attestation certificate chain does not lead to a trusted root');
      const page = await accountPage(any, key);
      assert.match(page, /<h3 class="passkey-name" id="passkey-name-0">YubiKey 5 Series<\/h3>/);
      assert.match(page, /<p class="small muted passkey-attestation">Make and model not verified<\/p>/);
    });

    test('a chain expired at the clock: refused under "attested", accepted but not verified under "any", with the reason', async () => {
      const stale = makeCertificate({ subject: { C: 'DE', O: 'Acme', OU: 'Authenticator Attestation', CN: 'Acme Old Key' }, issuer: acme.root, ca: false,
        notBefore: new Date(Date.now() - 30 * DAY), notAfter: new Date(Date.now() - DAY) });
      const attested = await tenantWith({ trust: 'attested' }, [acme.root.pem]);
      const refusedDone = await register(attested, keyWith(stale), 'expired@example.com');
      assert.equal(refusedDone.status, 403, refusedDone.text);
      assert.equal(refusedDone.json().error, 'attestation_required');

      const any = await tenantWith({}, [acme.root.pem]);
      assert.equal((await register(any, keyWith(stale), 'expired@example.com')).status, 200);
      const passkey = await storedPasskey(any, 'expired@example.com');
      assert.equal(passkey.attestationTrusted, false);
      assert.equal(passkey.attestationRoot?.fingerprint, acme.root.x509.fingerprint256, 'the root it reached is still named');
      assert.match(passkey.attestationNote!, /"C=DE, O=Acme, OU=Authenticator Attestation, CN=Acme Old Key" is not valid on/);
    });

    test('a removed root no longer anchors: the same security key is refused under "attested" afterwards', async () => {
      const tenant = await tenantWith({ trust: 'attested' }, [acme.root.pem]);
      assert.equal((await register(tenant, keyWith(acme.leaf), 'before@example.com')).status, 200);
      assert.equal(await server.services.attestationRoots.remove(tenant, acme.root.x509.fingerprint256.replace(/:/g, '').toLowerCase()), 1);
      assert.equal((await register(tenant, keyWith(acme.leaf), 'after@example.com')).json().error, 'attestation_required');
      await assert.rejects(server.services.attestationRoots.remove(tenant, acme.root.x509.fingerprint256), /trusts no attestation root with fingerprint/);
    });

    test('a root from the FIDO metadata statement: source "mds", the model\'s name, icon and certification level recorded; "certified" policies count it', async () => {
      const maker = attestationChain('Metadata Maker');
      const blob = testBlobSigner();
      await server.services.metadata.load(blob.sign(blobPayload(1, [{
        aaguid: MDS_AAGUID, level: 'L2',
        statement: { description: 'Metadata Test Key', icon: ICON, attestationRootCertificates: [maker.root.der.toString('base64')] },
      }])), { source: 'test', extraRootsPem: [blob.rootPem] });

      const l3 = await tenantWith({ trust: 'certified:L3' });
      const tooLow = await register(l3, keyWith(maker.leaf, [maker.leaf], MDS_AAGUID), 'l3@example.com');
      assert.equal(tooLow.json().error, 'certification_required');
      assert.match(tooLow.json().message, /\(Metadata Test Key\) is certified at level L2/);

      const l2 = await tenantWith({ trust: 'certified:L2' });
      const key = keyWith(maker.leaf, [maker.leaf], MDS_AAGUID);
      assert.equal((await register(l2, key, 'mds@example.com')).status, 200);
      const passkey = await storedPasskey(l2, 'mds@example.com');
      assert.equal(passkey.attestationTrusted, true);
      assert.equal(passkey.attestationRoot?.source, 'mds');
      assert.equal(passkey.attestationRoot?.fingerprint, maker.root.x509.fingerprint256);
      assert.equal(passkey.certificationLevel, 'L2');
      assert.equal(passkey.authenticatorName, 'Metadata Test Key');
      assert.equal(passkey.authenticatorIcon, ICON);

      // The account page shows what was recorded: name, icon, and that the make and model were verified.
      const page = await accountPage(l2, key);
      assert.match(page, /<img class="passkey-icon" src="data:image\/png;base64,iVBORw0KGgo=" alt=""/);
      assert.match(page, /<h3 class="passkey-name" id="passkey-name-0">Metadata Test Key<\/h3>/);
      assert.match(page, /<p class="small muted passkey-attestation">Make and model verified · FIDO Certified L2<\/p>/);
    });

    /** The account page of the passkey's holder, signed in with it. */
    async function accountPage(tenantId: string, authenticator: SoftwareAuthenticator): Promise<string> {
      const account = new UserAgent(server.origin);
      const start = (await account.postJson(`${server.origin}/${tenantId}/account/signin/options`, {})).json();
      const signedIn = await account.postJson(`${server.origin}/${tenantId}/account/signin/verify`, { challengeId: start.challengeId, response: authenticator.getAssertion(start.options, server.origin) });
      assert.equal(signedIn.status, 200, signedIn.text);
      return (await account.get(`${server.origin}/${tenantId}/account`)).text;
    }
  });
}

describe('sesame trust add | list | remove', () => {
  const { sesame, dataDir } = sesameCli('sesame-trust-cli', { PUBLIC_URL: 'http://localhost:8080' });
  const { root, leaf } = attestationChain('Acme');

  test('a root is added, listed and removed; an attestation certificate, an unreadable file or an unknown tenant are refused with the reason', async () => {
    assert.equal((await sesame('tenant', 'create', 'corp', '--name', 'Corp')).code, 0);
    const rootFile = path.join(dataDir(), 'root.pem');
    const leafFile = path.join(dataDir(), 'leaf.pem');
    fs.writeFileSync(rootFile, root.pem);
    fs.writeFileSync(leafFile, leaf.pem);

    const empty = await sesame('trust', 'list', '--tenant', 'corp');
    assert.equal(empty.code, 0, empty.err);
    assert.match(empty.out, /^Tenant "corp" trusts no attestation roots of its own; the FIDO metadata's and the platform vendors' apply\./);

    const added = await sesame('trust', 'add', '--tenant', 'corp', rootFile);
    assert.equal(added.code, 0, added.err);
    assert.match(added.out, /^Tenant "corp" trusts this attestation root:\n {2}C=DE, O=Acme, CN=Acme Attestation Root\n {4}SHA-256 [0-9A-F:]{95}, valid until \d{4}-\d\d-\d\d\n/);
    const twice = await sesame('trust', 'add', '--tenant', 'corp', rootFile);
    assert.match(twice.out, /\(1 already trusted\)/);

    const list = await sesame('trust', 'list', '--tenant', 'corp');
    assert.match(list.out, new RegExp(`^SHA-256 FINGERPRINT +VALID UNTIL +SUBJECT\\n${root.x509.fingerprint256} +\\d{4}-\\d\\d-\\d\\d +C=DE, O=Acme, CN=Acme Attestation Root$`));

    const notCa = await sesame('trust', 'add', '--tenant', 'corp', leafFile);
    assert.equal(notCa.code, 1);
    assert.match(notCa.err, /^sesame: The certificate \("C=DE, O=Acme, OU=Authenticator Attestation, CN=Acme Security Key"\) is not a CA certificate/);
    const missing = await sesame('trust', 'add', '--tenant', 'corp', path.join(dataDir(), 'nope.pem'));
    assert.equal(missing.code, 2);
    assert.match(missing.err, /^sesame: Cannot read .*nope\.pem: ENOENT\.\nUsage: sesame trust add --tenant <id> <file\.pem>/);
    assert.match((await sesame('trust', 'add', '--tenant', 'nobody', rootFile)).err, /There is no tenant called "nobody"/);
    assert.match((await sesame('trust', 'list')).err, /"trust list" needs --tenant <id>/);

    const removed = await sesame('trust', 'remove', '--tenant', 'corp', root.x509.fingerprint256);
    assert.equal(removed.code, 0, removed.err);
    assert.match(removed.out, /^Tenant "corp" no longer trusts that attestation root\./);
    assert.match((await sesame('trust', 'remove', '--tenant', 'corp', root.x509.fingerprint256)).err, /trusts no attestation root with fingerprint/);
    const audit = await sesame('audit', 'list', '--tenant', 'corp', '--type', 'admin.tenant_changed');
    assert.equal(audit.out.split('\n').filter((line) => /admin\.tenant_changed/.test(line)).length, 3, audit.out);
  });
});
