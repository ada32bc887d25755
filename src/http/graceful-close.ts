import type http from 'node:http';

/**
 * Closing an HTTP server without dropping requests: stop accepting, let in-flight requests finish
 * with `Connection: close` (keep-alive clients then reconnect, through the load balancer, to
 * another node), close each connection as it falls idle, and cut whatever is left at the deadline.
 */
export function gracefulCloser(server: http.Server): (deadlineMs: number) => Promise<void> {
  const inFlight = new Set<http.ServerResponse>();
  let closing = false;
  server.on('request', (_req: http.IncomingMessage, res: http.ServerResponse) => {
    if (closing) res.setHeader('Connection', 'close');
    inFlight.add(res);
    res.once('close', () => {
      inFlight.delete(res);
      if (closing) setImmediate(() => server.closeIdleConnections());
    });
  });

  return async (deadlineMs) => {
    closing = true;
    for (const res of inFlight) if (!res.headersSent) res.setHeader('Connection', 'close');
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'deadline'>((resolve) => { timer = setTimeout(() => resolve('deadline'), deadlineMs); });
    if (await Promise.race([closed, deadline]) === 'deadline') server.closeAllConnections();
    clearTimeout(timer);
    await closed;
  };
}
