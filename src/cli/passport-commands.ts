import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline/promises';
import { SoftwareAuthenticator, type SerializedAuthenticator } from '../../sdk/software-authenticator.js';
import { UafAuthenticator } from '../../sdk/uaf-authenticator.js';
import { parseEnrolmentLink, PassportClient, type PassportDevice, type RequestDetails } from '../../sdk/passport-client.js';

/**
 * `sesame passport …`: a Passport device in the terminal, built on the SDK. Its key and device
 * token live in a JSON file (mode 600), by default ~/.sesame-passport.json.
 */

/** The device's key: a WebAuthn credential (`authenticator`) or a FIDO UAF key (`uaf`, with the facet it answers as). */
interface StoredPassport {
  device?: PassportDevice;
  authenticator?: SerializedAuthenticator;
  uaf?: { facetId: string; keys: string };
}

export class PassportUsageError extends Error {}
class NotConfirmed extends Error {}

export function defaultPassportFile(): string {
  return process.env.SESAME_PASSPORT_FILE ?? path.join(os.homedir(), '.sesame-passport.json');
}

function load(file: string, confirmation: Confirmation): PassportClient | undefined {
  if (!fs.existsSync(file)) return undefined;
  const stored = JSON.parse(fs.readFileSync(file, 'utf8')) as StoredPassport;
  if (stored.uaf) {
    const authenticator = uafAuthenticator(stored.uaf.facetId, confirmation);
    authenticator.import(stored.uaf.keys);
    return new PassportClient(authenticator, stored.device);
  }
  return new PassportClient(stored.authenticator ? SoftwareAuthenticator.fromJSON(stored.authenticator) : new SoftwareAuthenticator(), stored.device);
}

function save(file: string, client: PassportClient): void {
  const { authenticator } = client;
  const stored: StoredPassport = authenticator instanceof UafAuthenticator
    ? { device: client.device, uaf: { facetId: authenticator.facetId, keys: authenticator.export() } }
    : { device: client.device, authenticator: (authenticator as SoftwareAuthenticator).toJSON() };
  fs.writeFileSync(file, `${JSON.stringify(stored, null, 2)}\n`, { mode: 0o600 });
}

/**
 * A software UAF authenticator (ECDSA P-256, basic surrogate attestation) answering as Sesame's own
 * origin. Before it signs an approval it prints the sign-in details it confirms, as a phone's
 * authenticator shows them; in a terminal the person confirms them, otherwise --yes does.
 */
interface Confirmation { out: (line?: string) => void; yes: boolean }
function uafAuthenticator(facetId: string, { out, yes }: Confirmation): UafAuthenticator {
  return new UafAuthenticator({
    facetId,
    confirm: async (text) => {
      out('Your authenticator confirms this sign-in:');
      for (const line of text.split('\n')) out(`  ${line}`);
      if (yes) return true;
      if (!process.stdin.isTTY) throw new PassportUsageError('Confirm the sign-in details with --yes (or run the command in a terminal to be asked).');
      const prompt = readline.createInterface({ input: process.stdin, output: process.stdout });
      const answer = await prompt.question('Approve this sign-in? (y/N) ');
      prompt.close();
      if (!/^y(es)?$/i.test(answer.trim())) throw new NotConfirmed();
      return true;
    },
  });
}

function describe(r: RequestDetails): string {
  return `${r.clientName} — ${r.browser} on ${r.os}, IP ${r.ip}, at ${r.createdAt.slice(11, 19)} UTC`;
}

export async function runPassportCommand(action: string | undefined, args: string[], flags: Record<string, unknown>, out: (line?: string) => void): Promise<void> {
  const file = typeof flags.file === 'string' ? flags.file : defaultPassportFile();
  const confirmation: Confirmation = { out, yes: flags.yes === true };
  if (action === 'enrol') {
    const [link] = args;
    if (!link) throw new PassportUsageError('Give the enrolment link: sesame passport enrol "<link>" (from Your passkeys → Set up a phone).');
    const protocol = flags.protocol ?? 'webauthn';
    if (protocol !== 'webauthn' && protocol !== 'uaf') throw new PassportUsageError(`--protocol is webauthn (a passkey, the default) or uaf (a FIDO UAF key), not "${String(protocol)}".`);
    const client = new PassportClient(protocol === 'uaf' ? uafAuthenticator(new URL(parseEnrolmentLink(link).publicUrl).origin, confirmation) : new SoftwareAuthenticator());
    const name = typeof flags.name === 'string' ? flags.name : `${os.hostname()} (terminal)`;
    const device = await client.enrolWithLink(link, name);
    save(file, client);
    out(`This terminal is enrolled as "${device.name}" for tenant "${device.tenant}" at ${device.publicUrl}${protocol === 'uaf' ? ', with a FIDO UAF key' : ''}.`);
    out(`Its key is in ${file} — keep that file private.`);
    return;
  }
  const client = load(file, confirmation) ?? new PassportClient(new SoftwareAuthenticator());
  switch (action) {
    case 'list': {
      const requests = await client.pendingRequests();
      if (requests.length === 0) out('No sign-in requests are waiting.');
      for (const r of requests) out(`${r.id}\t${describe(r)}`);
      return;
    }
    case 'approve': {
      const [ref] = args;
      if (!ref) throw new PassportUsageError('Give the request link (from the QR code) or id: sesame passport approve <link> [--number <n>].');
      const details = await client.details(ref);
      out(`Sign-in request: ${describe(details)}`);
      let number = typeof flags.number === 'string' ? Number(flags.number) : undefined;
      if (number === undefined) {
        if (!process.stdin.isTTY) throw new PassportUsageError(`Give the number shown on the computer with --number (one of ${details.choices.join(', ')}).`);
        const prompt = readline.createInterface({ input: process.stdin, output: process.stdout });
        number = Number(await prompt.question(`Which number is shown on your computer? (${details.choices.join(' / ')}) `));
        prompt.close();
      }
      if (!Number.isInteger(number)) throw new PassportUsageError('The number must be one of the choices shown.');
      try {
        await client.approve(ref, number);
      } catch (error) {
        if (!(error instanceof NotConfirmed)) throw error;
        // Saying no to the details the authenticator showed is turning the request down.
        await client.deny(ref);
        out('Not approved: the request was denied, and nobody is signed in with it.');
        return;
      }
      save(file, client); // the signature counter moved
      out('Approved. The computer is signing in.');
      return;
    }
    case 'deny': {
      const [ref] = args;
      if (!ref) throw new PassportUsageError('Give the request link or id: sesame passport deny <link>.');
      await client.deny(ref);
      out('Denied. Nobody is signed in with this request.');
      return;
    }
    default:
      throw new PassportUsageError(`Unknown command "passport${action ? ` ${action}` : ''}".`);
  }
}
