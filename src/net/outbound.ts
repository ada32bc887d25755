import dns from 'node:dns';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import type { LookupFunction } from 'node:net';
import { mayConnect, type AddressPolicy } from './address-policy.js';

export interface OutboundOptions extends AddressPolicy {
  /** Time to open the TCP + TLS connection. */
  connectTimeoutMs?: number;
  /** Time for the whole exchange, from the request to the last byte of the answer. */
  totalTimeoutMs?: number;
  /** Answers longer than this are cut off and the request fails. */
  maxResponseBytes?: number;
  /** Certificate authorities trusted besides the usual public ones (tests trust their own servers). */
  extraCa?: string | Buffer;
}

export interface OutboundRequest {
  url: string;
  method?: string;
  headers?: Record<string, string | number>;
  body?: string | Buffer | null;
  /** The caller's own deadline (oidc-provider gives each of its requests 2.5 s): aborting it ends the request at once. */
  signal?: AbortSignal;
}

export interface OutboundResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** Why an outbound request did not get an answer; `message` is safe to record and show to operators. */
export class OutboundError extends Error {
  constructor(readonly reason: 'not_https' | 'not_public' | 'timeout' | 'too_large' | 'failed', message: string) {
    super(message);
    this.name = 'OutboundError';
  }
}

const DEFAULTS = { connectTimeoutMs: 5_000, totalTimeoutMs: 10_000, maxResponseBytes: 64 * 1024 };

/**
 * The one way Sesame calls other servers (Web Push services, webhooks, and oidc-provider's requests: back-channel
 * logout tokens, clients' jwks_uri): https only; redirects are
 * answers, never followed; the host name is resolved once, every address it has is checked
 * (public addresses only, unless allowed), and the connection goes to those checked addresses (the
 * agent's `lookup`), so a DNS answer that changes between check and connect cannot slip through.
 * Connect and total timeouts and a cap on the answer's size keep a slow or hostile server from
 * holding a request open or filling memory.
 */
export class OutboundClient {
  private readonly agent: https.Agent;
  private readonly options: Required<Omit<OutboundOptions, 'extraCa'>>;

  constructor(options: OutboundOptions) {
    this.options = { ...DEFAULTS, ...options };
    this.agent = new https.Agent({
      keepAlive: true,
      lookup: this.lookup,
      ...(options.extraCa ? { ca: [...tls.rootCertificates, options.extraCa.toString()] } : {}),
    });
  }

  async request(request: OutboundRequest): Promise<OutboundResponse> {
    const url = parseHttpsUrl(request.url);
    const hostname = url.hostname.replace(/^\[|\]$/g, '');
    // Node connects to an IP literal without calling `lookup`: check it here.
    if (net.isIP(hostname) && !mayConnect(this.options, hostname, hostname)) {
      throw new OutboundError('not_public', `${url.host} is not a public address.`);
    }
    if (request.signal?.aborted) throw stoppedWaiting(url);
    return new Promise<OutboundResponse>((resolve, reject) => {
      const { connectTimeoutMs, totalTimeoutMs, maxResponseBytes } = this.options;
      let settled = false;
      const abort = () => finish(stoppedWaiting(url));
      const finish = (error: Error | undefined, response?: OutboundResponse) => {
        if (settled) return;
        settled = true;
        clearTimeout(total);
        clearTimeout(connect);
        request.signal?.removeEventListener('abort', abort);
        if (error) {
          req.destroy();
          reject(error);
        } else resolve(response!);
      };
      const req = https.request(url, { method: request.method ?? 'POST', headers: request.headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxResponseBytes) finish(new OutboundError('too_large', `The answer from ${url.host} is larger than ${maxResponseBytes} bytes.`));
          else chunks.push(chunk);
        });
        res.on('end', () => finish(undefined, { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', (error) => finish(toOutboundError(error, url)));
      });
      const total = setTimeout(() => finish(new OutboundError('timeout', `${url.host} did not answer within ${totalTimeoutMs} ms.`)), totalTimeoutMs);
      const connect = setTimeout(() => finish(new OutboundError('timeout', `${url.host} could not be reached within ${connectTimeoutMs} ms.`)), connectTimeoutMs);
      request.signal?.addEventListener('abort', abort, { once: true });
      req.on('socket', (socket) => {
        if (req.reusedSocket) clearTimeout(connect);
        else socket.once('secureConnect', () => clearTimeout(connect));
      });
      req.on('error', (error) => finish(toOutboundError(error, url)));
      req.end(request.body ?? undefined);
    });
  }

  close(): void {
    this.agent.destroy();
  }

  private readonly lookup: LookupFunction = (hostname, options, callback) => {
    dns.promises.lookup(hostname, { all: true, verbatim: true }).then((found) => {
      const addresses = found.map((a) => a.address);
      if (addresses.length === 0) throw new OutboundError('failed', `${hostname} has no address.`);
      const refused = addresses.find((address) => !mayConnect(this.options, hostname, address));
      if (refused) throw new OutboundError('not_public', `${hostname} resolves to ${refused}, which is not a public address.`);
      const wanted = options.family === 4 || options.family === 6 ? addresses.filter((a) => net.isIP(a) === options.family) : addresses;
      if (wanted.length === 0) throw new OutboundError('failed', `${hostname} has no IPv${options.family} address.`);
      if (options.all) callback(null, wanted.map((address) => ({ address, family: net.isIP(address) })));
      else callback(null, wanted[0], net.isIP(wanted[0]));
    }).catch((error: NodeJS.ErrnoException) => callback(error, '', 0));
  };
}

function parseHttpsUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new OutboundError('not_https', 'The address is not a valid URL.');
  }
  if (url.protocol !== 'https:') throw new OutboundError('not_https', `Only https:// addresses are called, not ${url.protocol}//.`);
  if (url.username || url.password) throw new OutboundError('not_https', 'Addresses with a user name or password are not called.');
  return url;
}

function stoppedWaiting(url: URL): OutboundError {
  return new OutboundError('timeout', `${url.host} had not answered when the caller stopped waiting.`);
}

function toOutboundError(error: Error, url: URL): OutboundError {
  if (error instanceof OutboundError) return error;
  return new OutboundError('failed', `${url.host} could not be reached (${(error as NodeJS.ErrnoException).code ?? error.message}).`);
}
