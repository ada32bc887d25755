/** A Server-Sent Events reader for tests: collects events and lets a test wait for one. */
export interface EventStream {
  events: Array<{ event: string; data: string }>;
  /** Resolves with the first event that matches, or rejects when the stream ends without one. */
  waitFor(match: (e: { event: string; data: string }) => boolean): Promise<{ event: string; data: string }>;
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  close(): void;
}

/** The server answered something else than a stream. */
export class EventStreamRefused extends Error {
  constructor(readonly status: number, readonly headers: Headers, readonly body: string) {
    super(`event stream answered ${status}: ${body}`);
  }
}

export async function openEventStream(url: string, headers: Record<string, string> = {}): Promise<EventStream> {
  const controller = new AbortController();
  const response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal });
  if (response.status !== 200) throw new EventStreamRefused(response.status, response.headers, await response.text());
  const events: Array<{ event: string; data: string }> = [];
  const waiters = new Set<() => void>();
  let done = false;
  const ended = (async () => {
    const reader = response.body!.getReader();
    let text = '';
    try {
      for (;;) {
        const { value, done: finished } = await reader.read();
        if (finished) break;
        text += Buffer.from(value).toString('utf8');
        let end: number;
        while ((end = text.indexOf('\n\n')) >= 0) {
          const block = text.slice(0, end);
          text = text.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (data !== undefined) events.push({ event: event ?? 'message', data });
          for (const wake of waiters) wake();
        }
      }
    } catch { /* aborted by close() */ }
    done = true;
    for (const wake of waiters) wake();
  })();
  return {
    events,
    ended,
    waitFor(match) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = events.find(match);
          if (found) {
            waiters.delete(check);
            resolve(found);
          } else if (done) {
            waiters.delete(check);
            reject(new Error(`the stream ended without the event; got ${JSON.stringify(events)}`));
          }
        };
        waiters.add(check);
        check();
      });
    },
    close: () => controller.abort(),
  };
}
