import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline/promises';
import { SoftwareAuthenticator, type SerializedAuthenticator } from '../../sdk/software-authenticator.js';
import { PassportClient, type PassportDevice, type RequestDetails } from '../../sdk/passport-client.js';

/**
 * `sesame passport …`: a Passport device in the terminal, built on the SDK. Its key and device
 * token live in a JSON file (mode 600), by default ~/.sesame-passport.json.
 */
export const PASSPORT_USAGE = `Passport (approve sign-ins from this terminal, as a phone would)
  passport enrol <enrolment link> [--name <name>]   Enrol with the link from "Your passkeys → Set up a phone"
  passport list                                     Sign-in requests waiting for you (push)
  passport approve <request link or id> [--number <n>]   Check who asks, pick the number, approve
  passport deny <request link or id>                Deny a request
  --file <path>   where the device key is kept (default ~/.sesame-passport.json)`;

interface StoredPassport {
  device?: PassportDevice;
  authenticator: SerializedAuthenticator;
}

export class PassportUsageError extends Error {}

export function defaultPassportFile(): string {
  return process.env.SESAME_PASSPORT_FILE ?? path.join(os.homedir(), '.sesame-passport.json');
}

function load(file: string): PassportClient {
  if (!fs.existsSync(file)) return new PassportClient(new SoftwareAuthenticator());
  const stored = JSON.parse(fs.readFileSync(file, 'utf8')) as StoredPassport;
  return new PassportClient(SoftwareAuthenticator.fromJSON(stored.authenticator), stored.device);
}

function save(file: string, client: PassportClient): void {
  const stored: StoredPassport = { device: client.device, authenticator: (client.authenticator as SoftwareAuthenticator).toJSON() };
  fs.writeFileSync(file, `${JSON.stringify(stored, null, 2)}\n`, { mode: 0o600 });
}

function describe(r: RequestDetails): string {
  return `${r.clientName} — ${r.browser} on ${r.os}, IP ${r.ip}, at ${r.createdAt.slice(11, 19)} UTC`;
}

export async function runPassportCommand(action: string | undefined, args: string[], flags: Record<string, unknown>, out: (line?: string) => void): Promise<void> {
  const file = typeof flags.file === 'string' ? flags.file : defaultPassportFile();
  const client = load(file);
  switch (action) {
    case 'enrol': {
      const [link] = args;
      if (!link) throw new PassportUsageError('Give the enrolment link: sesame passport enrol "<link>" (from Your passkeys → Set up a phone).');
      const name = typeof flags.name === 'string' ? flags.name : `${os.hostname()} (terminal)`;
      const device = await client.enrolWithLink(link, name);
      save(file, client);
      out(`This terminal is enrolled as "${device.name}" for tenant "${device.tenant}" at ${device.publicUrl}.`);
      out(`Its key is in ${file} — keep that file private.`);
      return;
    }
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
      await client.approve(ref, number);
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
