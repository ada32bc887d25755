import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SoftwareAuthenticator } from '../sdk/software-authenticator.js';
import { databases, startTestServer, type TestServer } from './support/server.js';
import { UserAgent } from './support/user-agent.js';
import { authorizeUrl, createClient, openSignInPage, proveEmail, signUp } from './support/flow.js';
import { checkRegistration } from '../src/webauthn/policy/check-registration.js';
import { DEFAULT_POLICY, authenticatorPolicySchema } from '../src/webauthn/policy/authenticator-policy.js';
import { certificationLevelOf } from '../src/webauthn/policy/attestation-facts.js';
import { registrationOptionsFor } from '../src/webauthn/policy/ceremony-options.js';
import { setTenantSettings, TenantSettingError } from '../src/cli/tenant-settings.js';
import { SesameError } from '../src/errors.js';

const YUBIKEY = 'cb69481e-8ff7-4039-93ec-0a2729a154a8';
const OTHER = '0132d110-bf4e-4208-a403-ab4f5f12efe5';

describe('authenticator policy: evaluation', () => {
  const key = { aaguid: YUBIKEY, deviceType: 'singleDevice' as const, userVerified: true };
  const code = (fn: () => void) => { try { fn(); return 'accepted'; } catch (error) { return (error as SesameError).code; } };
  const policy = (change: object) => authenticatorPolicySchema.parse({ ...DEFAULT_POLICY, ...change });

  test('deny list, allow list, synced, UV, attestation and certification level each refuse with their own code', () => {
    const unattested = { verified: false, aaguid: YUBIKEY };
    assert.equal(code(() => checkRegistration(DEFAULT_POLICY, key, unattested)), 'accepted');
    assert.equal(code(() => checkRegistration(policy({ aaguidDeny: [YUBIKEY] }), key, unattested)), 'authenticator_denied');
    assert.equal(code(() => checkRegistration(policy({ aaguidAllow: [OTHER] }), key, unattested)), 'authenticator_not_allowed');
    assert.equal(code(() => checkRegistration(policy({ aaguidAllow: [YUBIKEY] }), key, unattested)), 'accepted');
    assert.equal(code(() => checkRegistration(policy({ syncedPasskeys: 'device-bound-only' }), { ...key, deviceType: 'multiDevice' }, unattested)), 'synced_passkey_refused');
    assert.equal(code(() => checkRegistration(policy({ userVerification: 'required' }), { ...key, userVerified: false }, unattested)), 'user_verification_required');
    assert.equal(code(() => checkRegistration(policy({ userVerification: 'preferred' }), { ...key, userVerified: false }, unattested)), 'accepted');
    assert.equal(code(() => checkRegistration(policy({ trust: 'attested' }), key, unattested)), 'attestation_required');
    assert.equal(code(() => checkRegistration(policy({ trust: 'attested' }), key, { verified: true, aaguid: YUBIKEY })), 'accepted');
    const certified = policy({ trust: 'certified', minimumCertification: 'L2' });
    assert.equal(code(() => checkRegistration(certified, key, { verified: true, aaguid: YUBIKEY, certificationLevel: 'L1' })), 'certification_required');
    assert.equal(code(() => checkRegistration(certified, key, { verified: true, aaguid: YUBIKEY })), 'certification_required');
    assert.equal(code(() => checkRegistration(certified, key, { verified: true, aaguid: YUBIKEY, certificationLevel: 'L2plus' })), 'accepted');
    assert.equal(code(() => checkRegistration(certified, key, { verified: false, aaguid: YUBIKEY, certificationLevel: 'L3' })), 'attestation_required', 'an unattested AAGUID is only a claim');
  });

  test('refusals say why and what to use instead', () => {
    assert.throws(() => checkRegistration(policy({ syncedPasskeys: 'device-bound-only' }), { ...key, deviceType: 'multiDevice' }, { verified: false, aaguid: YUBIKEY }),
      (error: SesameError) => error.status === 403 && /stay on one device/.test(error.message) && /Use a security key/.test(error.message));
    assert.throws(() => checkRegistration(policy({ aaguidDeny: [YUBIKEY] }), key, { verified: false, aaguid: YUBIKEY }, 'YubiKey 5'),
      (error: SesameError) => /\(YubiKey 5\)/.test(error.message) && /Use another/.test(error.message));
  });

  test('MDS certification statuses become levels', () => {
    assert.equal(certificationLevelOf('FIDO_CERTIFIED_L2plus'), 'L2plus');
    assert.equal(certificationLevelOf('FIDO_CERTIFIED'), 'L1');
    assert.equal(certificationLevelOf('NOT_FIDO_CERTIFIED'), undefined);
    assert.equal(certificationLevelOf(undefined), undefined);
  });

  test('options follow the policy; a trust level asks for attestation', () => {
    assert.deepEqual(registrationOptionsFor(DEFAULT_POLICY).authenticatorSelection, { residentKey: 'required', userVerification: 'required' });
    assert.equal(registrationOptionsFor(DEFAULT_POLICY).attestationType, 'none');
    assert.equal(registrationOptionsFor(policy({ trust: 'attested' })).attestationType, 'direct');
    assert.equal(registrationOptionsFor(policy({ attestation: 'enterprise' })).attestationType, 'enterprise');
    assert.equal(registrationOptionsFor(policy({ attachment: 'hybrid' })).preferredAuthenticatorType, 'remoteDevice');
  });
});

for (const db of await databases()) {
  describe(`authenticator policy over HTTP (${db})`, () => {
    let server: TestServer;
    let n = 0;

    before(async () => { server = await startTestServer(db); });
    after(() => server.close());

    /** A fresh tenant with the given `tenant set` flags, and its sign-in page. */
    async function tenantWith(flags: Record<string, string>) {
      const id = `policy-${++n}`;
      await server.services.tenants.createTenant(id, `Policy ${n}`);
      if (Object.keys(flags).length) await setTenantSettings(server.services, id, flags);
      const client = await createClient(server, { tenantId: id });
      const ua = new UserAgent(server.origin);
      const { base } = await openSignInPage(ua, authorizeUrl(server, client, {}, id));
      return { id, ua, base };
    }

    async function register(t: { ua: UserAgent; base: string }, authenticator: SoftwareAuthenticator, email: string) {
      const start = await t.ua.postJson(`${t.base}/signup/options`, { email, displayName: 'P', verificationId: await proveEmail(t.ua, t.base, email, 'P') });
      assert.equal(start.status, 200, start.text);
      const { challengeId, options } = start.json();
      return { options, done: await t.ua.postJson(`${t.base}/signup/verify`, { challengeId, response: authenticator.createCredential(options, t.ua.origin) }) };
    }

    const userCount = async (tenantId: string) => Number((await server.services.database.db.selectFrom('users').select((eb) => eb.fn.countAll().as('n')).where('tenant_id', '=', tenantId).executeTakeFirstOrThrow()).n);

    test('the registration options carry the tenant\'s policy', async () => {
      const t = await tenantWith({ attestation: 'direct', 'user-verification': 'preferred', 'resident-key': 'preferred', attachment: 'cross-platform', algorithms: 'ES256,EdDSA' });
      const { options } = await register(t, new SoftwareAuthenticator(), 'opts@example.com');
      assert.equal(options.attestation, 'direct');
      assert.equal(options.authenticatorSelection.userVerification, 'preferred');
      assert.equal(options.authenticatorSelection.residentKey, 'preferred');
      assert.equal(options.authenticatorSelection.authenticatorAttachment, 'cross-platform');
      assert.deepEqual(options.hints, ['security-key']);
      assert.deepEqual(options.pubKeyCredParams.map((p: { alg: number }) => p.alg), [-7, -8]);
    });

    test('a deny-listed AAGUID is refused, and no account is made', async () => {
      const t = await tenantWith({ 'aaguid-deny': YUBIKEY.replace(/-/g, '').toUpperCase() });
      const { done } = await register(t, new SoftwareAuthenticator({ aaguid: YUBIKEY }), 'denied@example.com');
      assert.equal(done.status, 403, done.text);
      assert.equal(done.json().error, 'authenticator_denied');
      assert.equal(await userCount(t.id), 0);
      const other = await register(t, new SoftwareAuthenticator({ aaguid: OTHER }), 'other@example.com');
      assert.equal(other.done.status, 200, other.done.text);
    });

    test('an AAGUID outside the allow list is refused', async () => {
      const t = await tenantWith({ 'aaguid-allow': YUBIKEY });
      const { done } = await register(t, new SoftwareAuthenticator({ aaguid: OTHER }), 'notallowed@example.com');
      assert.equal(done.json().error, 'authenticator_not_allowed');
      assert.match(done.json().message, /approved/);
    });

    test('a synced passkey under a device-bound policy is refused with what to use instead; a device-bound one is accepted', async () => {
      const t = await tenantWith({ 'synced-passkeys': 'device-bound-only' });
      const { done } = await register(t, new SoftwareAuthenticator({ synced: true }), 'synced@example.com');
      assert.equal(done.status, 403, done.text);
      assert.equal(done.json().error, 'synced_passkey_refused');
      assert.match(done.json().message, /only passkeys that stay on one device.*Use a security key/s);
      assert.equal((await register(t, new SoftwareAuthenticator(), 'bound@example.com')).done.status, 200);
    });

    test('missing user verification is refused when required, accepted when preferred', async () => {
      const required = await tenantWith({});
      const { done } = await register(required, new SoftwareAuthenticator({ userVerification: false }), 'nouv@example.com');
      assert.equal(done.status, 403, done.text);
      assert.equal(done.json().error, 'user_verification_required');
      const preferred = await tenantWith({ 'user-verification': 'preferred' });
      assert.equal((await register(preferred, new SoftwareAuthenticator({ userVerification: false }), 'nouv@example.com')).done.status, 200);
    });

    test('trust attested refuses a passkey without a verified attestation', async () => {
      const t = await tenantWith({ trust: 'attested' });
      const { options, done } = await register(t, new SoftwareAuthenticator({ attestation: 'packed' }), 'selfatt@example.com');
      assert.equal(options.attestation, 'direct');
      assert.equal(done.json().error, 'attestation_required');
    });

    test('cloned counter: denied by default, the passkey flagged and the event recorded', async () => {
      const t = await tenantWith({});
      const authenticator = new SoftwareAuthenticator();
      await signUp(t.ua, authenticator, t.base, 'clone@example.com', 'C');
      const [credential] = authenticator.credentials.values();
      const twoSignIns = async (ua: UserAgent, base: string, a: SoftwareAuthenticator) => {
        const start = (await ua.postJson(`${base}/signin/options`, { email: 'clone@example.com' })).json();
        return ua.postJson(`${base}/signin/verify`, { challengeId: start.challengeId, response: a.getAssertion(start.options, ua.origin) });
      };
      const fresh = await tenantPage(t.id);
      assert.equal((await twoSignIns(fresh.ua, fresh.base, authenticator)).status, 200);
      const clone = new SoftwareAuthenticator();
      clone.credentials.set(credential!.id, { ...credential!, signCount: 0 });
      const again = await tenantPage(t.id);
      const refused = await twoSignIns(again.ua, again.base, clone);
      assert.equal(refused.status, 403, refused.text);
      assert.equal(refused.json().error, 'passkey_possibly_cloned');
      const stored = await server.services.passkeys.listPasskeys(t.id, (await server.services.passkeys.findUserByEmail(t.id, 'clone@example.com'))!.id);
      assert.equal(stored[0]!.possiblyCloned, true);
      const { CredentialRepository } = await import('../src/storage/repositories/credentials.js');
      const events = await new CredentialRepository(server.services.database.db).events(t.id, credential!.id);
      assert.deepEqual(events.map((e) => [e.type, e.detail]), [['counter_regressed', { storedSignCount: 1, presentedSignCount: 1, action: 'denied' }]]);
    });

    test('cloned counter under allow-and-flag: the sign-in goes through, flagged and recorded', async () => {
      const t = await tenantWith({ 'counter-regression': 'allow-and-flag' });
      const authenticator = new SoftwareAuthenticator();
      await signUp(t.ua, authenticator, t.base, 'clone2@example.com', 'C');
      const [credential] = authenticator.credentials.values();
      const clone = new SoftwareAuthenticator();
      clone.credentials.set(credential!.id, { ...credential!, signCount: 0 });
      const signInWith = async (a: SoftwareAuthenticator) => {
        const page = await tenantPage(t.id);
        const start = (await page.ua.postJson(`${page.base}/signin/options`, {})).json();
        return page.ua.postJson(`${page.base}/signin/verify`, { challengeId: start.challengeId, response: a.getAssertion(start.options, page.ua.origin) });
      };
      assert.equal((await signInWith(authenticator)).status, 200);
      const res = await signInWith(clone);
      assert.equal(res.status, 200, res.text);
      const stored = await server.services.passkeys.listPasskeys(t.id, (await server.services.passkeys.findUserByEmail(t.id, 'clone2@example.com'))!.id);
      assert.equal(stored[0]!.possiblyCloned, true);
      assert.equal(stored[0]!.signCount, 1, 'a counter that went back is not stored');
      const { CredentialRepository } = await import('../src/storage/repositories/credentials.js');
      assert.equal((await new CredentialRepository(server.services.database.db).events(t.id, credential!.id))[0]!.detail.action, 'allowed');
    });

    test('tenant set: policy flags are validated and answered in words', async () => {
      await server.services.tenants.createTenant('policy-cli', 'CLI');
      const lines = await setTenantSettings(server.services, 'policy-cli', { trust: 'certified:L2', 'synced-passkeys': 'device-bound-only', 'counter-regression': 'allow-and-flag' });
      assert.match(lines.join('\n'), /FIDO Certified at L2 or higher/);
      const tenant = await server.services.tenants.requireTenant('policy-cli');
      assert.equal(tenant.authenticatorPolicy!.minimumCertification, 'L2');
      assert.equal(tenant.authenticatorPolicy!.syncedPasskeys, 'device-bound-only');
      await assert.rejects(setTenantSettings(server.services, 'policy-cli', { trust: 'certified:L9' }), TenantSettingError);
      await assert.rejects(setTenantSettings(server.services, 'policy-cli', { 'aaguid-deny': 'not-an-aaguid' }), /not an AAGUID/);
      await assert.rejects(setTenantSettings(server.services, 'policy-cli', { algorithms: 'ES256,MD5' }), /MD5/);
      assert.equal((await server.services.tenants.requireTenant('policy-cli')).authenticatorPolicy!.trust, 'certified', 'a refused value changes nothing');
    });

    async function tenantPage(id: string) {
      const client = await createClient(server, { tenantId: id });
      const ua = new UserAgent(server.origin);
      const { base } = await openSignInPage(ua, authorizeUrl(server, client, {}, id));
      return { ua, base };
    }
  });
}
