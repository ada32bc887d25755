import type { Logger } from '../../log.js';
import { forbidden, type SesameError } from '../../errors.js';
import { OutboundClient, type OutboundOptions } from '../../net/outbound.js';
import type { MdsRepository, StoredBlob } from '../../storage/repositories/mds.js';
import { isStale, parseBlobPayload, type BlobPayload } from './blob-payload.js';
import { describeEntry, normaliseAaguid, SECURITY_STATUS_TEXT, type AuthenticatorMetadata, type SecurityStatus } from './authenticator-status.js';
import { FIDO_MDS_ROOTS } from './fido-roots.js';
import { refused, verifyBlob } from './verify-blob.js';

export interface MetadataSettings {
  /** Where the scheduled refresh downloads the BLOB (MDS_URL); undefined: only `sesame mds load`. */
  url: string | undefined;
  /** Security statuses that refuse new passkeys of the AAGUID and sign-ins with existing ones (MDS_REFUSED_STATUSES). */
  refusedStatuses: readonly SecurityStatus[];
  /** Outbound policy for the download (private addresses, extra CAs), as for every outbound request. */
  outbound: Pick<OutboundOptions, 'allowPrivate' | 'extraCa'>;
}

export interface LoadOptions {
  /** The file name or URL, recorded with the BLOB. */
  source: string;
  /** Roots of test and conformance BLOBs (`--root`); the production BLOB needs none. */
  extraRootsPem?: readonly string[];
  /** Accept a BLOB whose nextUpdate has passed (test and conformance BLOBs). */
  allowStale?: boolean;
  /** The clock certificates and nextUpdate are checked against (tests fix it). */
  now?: Date;
}

export interface LoadResult {
  no: number;
  nextUpdate: string;
  entries: number;
  aaguidEntries: number;
  stale: boolean;
  /** AAGUIDs with a security status, and that status. */
  securityStatuses: Map<string, SecurityStatus>;
  /** Credentials (all tenants) flagged after the load. */
  flaggedCredentials: number;
}

/** The BLOB is about 10 MB today; its download may take longer than a push message's. */
const DOWNLOAD = { maxResponseBytes: 64 * 1024 * 1024, totalTimeoutMs: 120_000, connectTimeoutMs: 10_000 };
/** The MDS publishes about monthly, and out of turn when an authenticator is compromised: look daily. */
const REFRESH_EVERY_MS = 24 * 3600_000;
const RETRY_AFTER_FAILURE_MS = 3600_000;
/** The error code of a BLOB that is not newer than the one in force: the usual answer of a daily look. */
const NOT_NEWER = 'mds_blob_not_newer';

/**
 * FIDO Metadata Service v3 in Sesame: loads and verifies BLOBs (a file or URL from the CLI, or the
 * scheduled download), keeps the one in force in the database for every node, and answers what the
 * BLOB says about an AAGUID from memory, so that no request waits for the network or a 10 MB parse.
 */
export class MetadataService {
  private index = new Map<string, AuthenticatorMetadata>();
  private indexedNo: number | undefined;
  private nextRefreshAt = 0;
  private refreshing = false;

  constructor(private readonly repository: MdsRepository, private readonly settings: MetadataSettings, private readonly log: Logger) {}

  /** What the BLOB in force says about an AAGUID: description, icon, certification, security status. */
  entryFor(aaguid: string): AuthenticatorMetadata | undefined {
    return this.index.get(normaliseAaguid(aaguid));
  }

  statusFor(aaguid: string): { certification: string | undefined; securityStatus: SecurityStatus | undefined; refused: boolean } | undefined {
    const entry = this.entryFor(aaguid);
    return entry && { certification: entry.certification, securityStatus: entry.securityStatus, refused: this.refuses(entry.securityStatus) };
  }

  /** Registration calls this with the new credential's AAGUID: a model reported unsafe gets no new passkeys. */
  assertAuthenticatorAllowed(aaguid: string): void {
    const entry = this.entryFor(aaguid);
    if (!entry?.securityStatus || !this.refuses(entry.securityStatus)) return;
    throw forbidden(`This passkey cannot be saved: the FIDO Alliance reports that ${SECURITY_STATUS_TEXT[entry.securityStatus]} `
      + `(${entry.description ?? 'this model of passkey'}). Please use a different passkey or security key.`, 'authenticator_refused');
  }

  /**
   * Sign-in calls this with the stored credential: its flag (set in the database when a BLOB was
   * loaded, on whichever node) or, for a passkey saved before this node knew the BLOB, its AAGUID's status.
   */
  assertCredentialAllowed(credential: { aaguid: string; mdsFlag?: string | null }): void {
    const status = (credential.mdsFlag ?? this.entryFor(credential.aaguid)?.securityStatus) as SecurityStatus | undefined;
    if (!status || !this.refuses(status)) return;
    const model = this.entryFor(credential.aaguid)?.description;
    throw forbidden(`This passkey can no longer be used to sign in: the FIDO Alliance reports that ${SECURITY_STATUS_TEXT[status]}`
      + `${model ? ` (${model})` : ''}. Sign in with another passkey, then remove this one from your passkeys.`, 'passkey_refused');
  }

  /**
   * Verifies a BLOB and puts it in force: signature and chain to the FIDO roots (or a test root
   * given), not stale, and numbered higher than the one in force. A refused BLOB changes nothing.
   */
  async load(jwt: string, options: LoadOptions): Promise<LoadResult> {
    const now = options.now ?? new Date();
    const payload = verifyBlob(jwt, { fidoRoots: FIDO_MDS_ROOTS, extraRootsPem: options.extraRootsPem }, now);
    const stale = isStale(payload.nextUpdate, now);
    if (stale && !options.allowStale) {
      throw refused(`it is out of date: its nextUpdate was ${payload.nextUpdate}, and a newer BLOB should have been published by then.`);
    }
    const current = await this.repository.current();
    if (current && payload.no <= current.no) {
      throw refused(`its number (${payload.no}) is not higher than that of the BLOB in force (${current.no}); only a newer BLOB replaces it.`, NOT_NEWER);
    }
    const index = buildIndex(payload);
    const securityStatuses = new Map([...index.values()].filter((e) => e.securityStatus).map((e) => [e.aaguid, e.securityStatus!]));
    const blob = { no: payload.no, nextUpdate: payload.nextUpdate, loadedAt: Date.now(), source: options.source, payload: JSON.stringify(payload) };
    if (!await this.repository.replace(blob, securityStatuses)) {
      throw refused(`a BLOB with the same or a higher number was put in force at the same time (this one is ${payload.no}).`, NOT_NEWER);
    }
    this.index = index;
    this.indexedNo = payload.no;
    return {
      no: payload.no,
      nextUpdate: payload.nextUpdate,
      entries: payload.entries.length,
      aaguidEntries: index.size,
      stale,
      securityStatuses,
      flaggedCredentials: await this.repository.countFlagged(),
    };
  }

  /** Downloads a BLOB over https (public addresses, no redirects, size cap) and loads it. */
  async loadFromUrl(url: string, options: Omit<LoadOptions, 'source'> = {}): Promise<LoadResult> {
    const client = new OutboundClient({ ...this.settings.outbound, ...DOWNLOAD });
    try {
      const response = await client.request({ url, method: 'GET', headers: { accept: 'application/jwt, text/plain' } });
      if (response.status !== 200) {
        const location = response.headers.location ? ` (it points to ${response.headers.location}: use that address)` : '';
        throw refused(`${url} answered HTTP ${response.status}${location}.`);
      }
      return await this.load(response.body.toString('utf8'), { ...options, source: url });
    } finally {
      client.close();
    }
  }

  /** Reads the BLOB in force from the database when another node (or the CLI) put a newer one in force. */
  async reload(): Promise<void> {
    const current = await this.repository.current();
    if (!current || current.no === this.indexedNo) return;
    const stored = await this.repository.payload();
    if (!stored) return;
    this.index = buildIndex(parseBlobPayload(JSON.parse(stored.payload)));
    this.indexedNo = stored.no;
  }

  /** The BLOB in force, for `sesame mds status`. */
  async inForce(now = new Date()): Promise<(StoredBlob & { stale: boolean; flaggedCredentials: number; securityStatuses: AuthenticatorMetadata[]; aaguidEntries: number }) | undefined> {
    await this.reload();
    const current = await this.repository.current();
    if (!current) return undefined;
    return {
      ...current,
      stale: isStale(current.nextUpdate, now),
      flaggedCredentials: await this.repository.countFlagged(),
      securityStatuses: [...this.index.values()].filter((e) => e.securityStatus),
      aaguidEntries: this.index.size,
    };
  }

  get refusedStatuses(): readonly SecurityStatus[] {
    return this.settings.refusedStatuses;
  }

  get url(): string | undefined {
    return this.settings.url;
  }

  /**
   * The scheduled refresh (the server's housekeeping calls it every minute): picks up a BLOB another
   * node loaded, and downloads MDS_URL once a day, or hourly after a failure. Failures are logged;
   * the BLOB in force stays.
   */
  async refreshIfDue(now = Date.now()): Promise<void> {
    await this.reload();
    if (!this.settings.url || this.refreshing || now < this.nextRefreshAt) return;
    this.refreshing = true;
    try {
      const result = await this.loadFromUrl(this.settings.url);
      this.nextRefreshAt = now + REFRESH_EVERY_MS;
      this.log.info({ no: result.no, nextUpdate: result.nextUpdate, flaggedCredentials: result.flaggedCredentials }, 'loaded a new FIDO metadata BLOB');
    } catch (error) {
      const current = await this.repository.current();
      const unchanged = current && (error as SesameError).code === NOT_NEWER;
      // No newer BLOB yet is the usual answer; look again tomorrow unless the one in force has gone stale.
      this.nextRefreshAt = now + (unchanged && !isStale(current.nextUpdate, new Date(now)) ? REFRESH_EVERY_MS : RETRY_AFTER_FAILURE_MS);
      if (!unchanged) this.log.warn({ url: this.settings.url, reason: (error as Error).message, inForce: current?.no }, 'FIDO metadata refresh failed; the BLOB in force stays');
    } finally {
      this.refreshing = false;
    }
  }

  private refuses(status: SecurityStatus | undefined): boolean {
    return Boolean(status && this.settings.refusedStatuses.includes(status));
  }
}

function buildIndex(payload: BlobPayload): Map<string, AuthenticatorMetadata> {
  const index = new Map<string, AuthenticatorMetadata>();
  for (const entry of payload.entries) {
    if (!entry.aaguid) continue;
    const aaguid = normaliseAaguid(entry.aaguid);
    index.set(aaguid, describeEntry(aaguid, entry));
  }
  return index;
}
