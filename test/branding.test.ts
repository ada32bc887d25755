import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { databases, startTestServer, type TestServer } from './support/server.js';
import { authorizeUrl, createClient, openSignInPage, proveEmail, RP_REDIRECT } from './support/flow.js';
import { devMails } from './support/mailbox.js';
import { UserAgent } from './support/user-agent.js';
import { contrastRatio, logoFromDataUrl, relativeLuminance, textColourOn } from '../src/tenants/branding.js';
import { renderMail } from '../src/mail/render-mail.js';

const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from('rest of a png')]);
const WEBP = Buffer.concat([Buffer.from('RIFF'), Buffer.alloc(4), Buffer.from('WEBPVP8 ')]);

describe('contrast (WCAG 2)', () => {
  test('luminance and ratios match the reference values', () => {
    assert.equal(relativeLuminance('#ffffff'), 1);
    assert.equal(relativeLuminance('#000000'), 0);
    assert.equal(contrastRatio('#ffffff', '#000000'), 21);
    assert.equal(contrastRatio('#000000', '#ffffff'), 21);
    // WebAIM's checker: #777777 on white is 4.48:1, #2563eb on white 5.17:1.
    assert.equal(contrastRatio('#777777', '#ffffff').toFixed(2), '4.48');
    assert.equal(contrastRatio('#2563eb', '#ffffff').toFixed(2), '5.17');
  });

  test('text on the colour is white or black, whichever contrasts more, always at least 4.5:1', () => {
    assert.equal(textColourOn('#2563eb'), '#ffffff');
    assert.equal(textColourOn('#ffcc00'), '#000000');
    assert.equal(textColourOn('#777777'), '#000000', 'white would be only 4.48:1');
    for (let i = 0; i < 4096; i++) {
      const colour = `#${[0, 1, 2].map((c) => (((i >> (c * 4)) & 15) * 17).toString(16).padStart(2, '0')).join('')}`;
      assert.ok(contrastRatio(colour, textColourOn(colour)) >= 4.5, colour);
    }
  });
});

describe('logo checks', () => {
  test('PNG, JPEG and WebP by their bytes; SVG, other types and big files refused', () => {
    assert.equal(logoFromDataUrl(`data:image/png;base64,${PNG.toString('base64')}`).type, 'image/png');
    assert.equal(logoFromDataUrl(`data:image/png;base64,${WEBP.toString('base64')}`).type, 'image/webp', 'the bytes decide, not the claimed type');
    assert.equal(logoFromDataUrl(`data:image/jpeg;base64,${Buffer.from([0xff, 0xd8, 0xff, 0xe0]).toString('base64')}`).type, 'image/jpeg');
    assert.throws(() => logoFromDataUrl('data:image/svg+xml;base64,PHN2Zz48L3N2Zz4='), /SVG logos are not accepted/);
    assert.throws(() => logoFromDataUrl(`data:image/png;base64,${Buffer.from('<html><script>alert(1)</script>').toString('base64')}`), /must be a PNG, JPEG or WebP/);
    assert.throws(() => logoFromDataUrl('data:image/png,notbase64'), /looks like data:image\/png;base64/);
  });
});

for (const db of await databases()) {
  describe(`branding over HTTP (${db})`, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(db);
      await server.services.tenants.setDisplayName('demo', 'Contoso Travel');
      await server.services.tenants.setBrandColour('demo', '#0F766E');
      await server.services.tenants.setLogo('demo', { type: 'image/png', bytes: PNG });
    });
    after(() => server.close());

    test('the sign-in page carries the name, the colour\'s stylesheet and the logo, within the CSP', async () => {
      const client = await server.services.tenants.createClient({ tenantId: 'demo', redirectUris: [RP_REDIRECT], b2cTenant: 'contosob2c' });
      assert.equal(client.name, 'Contoso Travel', 'a B2C client is named after the tenant, not the B2C tenant');
      const ua = new UserAgent(server.origin);
      const { page } = await openSignInPage(ua, authorizeUrl(server, client));
      assert.match(page.text, /<h1>Sign in to Contoso Travel<\/h1>/);
      assert.doesNotMatch(page.text, /contosob2c|Azure AD B2C/);
      assert.match(page.text, /<span class="brand-name">Contoso Travel<\/span>/);
      assert.match(page.text, /<link rel="stylesheet" href="\/demo\/branding\/theme\.css\?v=0f766e">/);
      const logoPath = /<img class="brand-logo" src="([^"]+)"/.exec(page.text)?.[1];
      assert.match(logoPath ?? '', /^\/demo\/branding\/logo\?v=[A-Za-z0-9_-]{16}$/);
      const csp = page.headers.get('content-security-policy') ?? '';
      assert.match(csp, /img-src 'self' data:;/, 'the logo is same-origin: no third-party image source');

      const logo = await fetch(new URL(logoPath!, server.origin));
      assert.equal(logo.status, 200);
      assert.equal(logo.headers.get('content-type'), 'image/png');
      assert.equal(logo.headers.get('cache-control'), 'public, max-age=31536000, immutable');
      assert.equal(logo.headers.get('x-content-type-options'), 'nosniff');
      assert.deepEqual(Buffer.from(await logo.arrayBuffer()), PNG);
      assert.equal((await fetch(`${server.origin}/demo/branding/logo?v=old`)).headers.get('cache-control'), 'public, max-age=300');

      const theme = await fetch(`${server.origin}/demo/branding/theme.css?v=0f766e`);
      assert.equal(theme.headers.get('content-type'), 'text/css; charset=utf-8');
      assert.match(await theme.text(), /button\.primary, \.button\.primary, \.account \.badge \{ background: #0f766e; border-color: #0f766e; color: #ffffff; \}/);
    });

    test('the account page and Passport carry the branding too', async () => {
      for (const path of ['/demo/account', '/demo/passport/']) {
        const page = await fetch(`${server.origin}${path}`);
        assert.equal(page.status, 200, path);
        const html = await page.text();
        assert.match(html, /<span class="brand-name">Contoso Travel<\/span>/, path);
        assert.match(html, /\/demo\/branding\/theme\.css\?v=0f766e/, path);
        assert.match(html, /\/demo\/branding\/logo\?v=/, path);
      }
    });

    test('invalid colours and logos are refused, nothing changes', async () => {
      await assert.rejects(server.services.tenants.setBrandColour('demo', 'teal'), /"teal" is not a colour: give it as #rrggbb/);
      await assert.rejects(server.services.tenants.setLogo('demo', { type: 'image/png', bytes: Buffer.from('<svg onload="alert(1)"/>') }), /SVG logos are not accepted/);
      await assert.rejects(server.services.tenants.setLogo('demo', { type: 'image/png', bytes: Buffer.concat([PNG, Buffer.alloc(64 * 1024)]) }), /at most 64 KB/);
      const tenant = await server.services.tenants.requireTenant('demo');
      assert.equal(tenant.brandColour, '#0f766e');
      assert.deepEqual(Buffer.from(await (await fetch(`${server.origin}/demo/branding/logo`)).arrayBuffer()), PNG);
    });

    test('mails carry the name, the colour with its contrasting text and the logo\'s absolute URL', async () => {
      const client = await createClient(server);
      const ua = new UserAgent(server.origin);
      const { base } = await openSignInPage(ua, authorizeUrl(server, client));
      await proveEmail(ua, base, 'brand@example.com', 'Brand');
      // The mail worker writes it to the dev outbox shortly after it was queued.
      let mail;
      for (let tries = 0; !mail && tries < 500; tries++) {
        [mail] = await devMails(server.origin, 'brand@example.com');
        if (!mail) await new Promise((r) => setTimeout(r, 20));
      }
      assert.ok(mail, 'the verification mail was sent');
      assert.match(mail.subject, /^Contoso Travel: /);
      assert.match(mail.html, /background:#0f766e;color:#ffffff;/);
      assert.match(mail.html, new RegExp(`<img src="${server.origin.replace(/[.]/g, '\\.')}/demo/branding/logo\\?v=[A-Za-z0-9_-]{16}"`));
      assert.match(mail.html, /Contoso Travel\n<\/div>/);
    });
  });
}

test('a mail without branding keeps the plain header', () => {
  const mail = renderMail('recovery-code', { code: 'ABCD-EFGH', expiresInMinutes: 15 }, { tenantName: 'Plain', accountUrl: 'https://id.example.com/plain/account' });
  assert.doesNotMatch(mail.html, /<img|border-radius:8px 8px 0 0/);
  assert.match(mail.html, /Plain/);
});
