import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Who is acting and from where, for the audit log: set once per HTTP request (or CLI run) so that
 * services record events without passing the request around.
 */
export interface AuditContext {
  /**
   * 'user': a person through HTTP; 'cli': an administrator at the `sesame` command;
   * 'admin:<address>': an administrator signed in to the console; 'api:<token id>': the admin API.
   */
  actor: 'user' | 'cli' | `admin:${string}` | `api:${string}`;
  requestId?: string;
  /** The client address as src/http/client-ip.ts decided it. */
  ip?: string;
  userAgent?: string;
}

const storage = new AsyncLocalStorage<AuditContext>();

export function runWithAuditContext<T>(context: AuditContext, fn: () => T): T {
  return storage.run(context, fn);
}

export function currentAuditContext(): AuditContext | undefined {
  return storage.getStore();
}

/** The request is an administrator's, signed in to the console: their events name them. */
export function setAuditActor(actor: AuditContext['actor']): void {
  const context = storage.getStore();
  if (context) context.actor = actor;
}
