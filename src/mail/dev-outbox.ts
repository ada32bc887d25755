import fs from 'node:fs/promises';
import path from 'node:path';
import type { DevOutboxEntry } from './transports.js';

/** Outbox ids are randomId() values; anything else is not a file of the outbox. */
const ID = /^[A-Za-z0-9_-]{22}$/;

/** The mails of the dev outbox folder, newest first. */
export async function listDevOutbox(dir: string): Promise<DevOutboxEntry[]> {
  let files: string[];
  try {
    files = await fs.readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const ids = files.filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -'.json'.length)).filter((id) => ID.test(id));
  const entries = await Promise.all(ids.map((id) => readDevOutboxEntry(dir, id)));
  return entries.filter((e): e is DevOutboxEntry => e !== undefined).sort((a, b) => b.writtenAt - a.writtenAt);
}

export async function readDevOutboxEntry(dir: string, id: string): Promise<DevOutboxEntry | undefined> {
  if (!ID.test(id)) return undefined;
  try {
    return JSON.parse(await fs.readFile(path.join(dir, `${id}.json`), 'utf8')) as DevOutboxEntry;
  } catch {
    return undefined;
  }
}

/** The RFC 822 message as it would have gone to SMTP. */
export async function readDevOutboxMessage(dir: string, id: string): Promise<Buffer | undefined> {
  if (!ID.test(id)) return undefined;
  return fs.readFile(path.join(dir, `${id}.eml`)).catch(() => undefined);
}
