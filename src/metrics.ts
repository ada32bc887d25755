import { Counter, collectDefaultMetrics, register } from 'prom-client';

/** Process metrics (CPU, memory, event loop) plus Sesame's own counters, served at /metrics. */
let started = false;
export function startMetrics(): void {
  if (started) return;
  started = true;
  collectDefaultMetrics({ register });
}

export const ceremonies = new Counter({
  name: 'sesame_ceremonies_total',
  help: 'Passkey ceremonies by kind (signin, signup, add_passkey) and outcome (ok, rejected).',
  labelNames: ['kind', 'outcome'] as const,
});

/** Counts a ceremony's outcome around the promise that performs it. */
export async function counted<T>(kind: string, work: Promise<T>): Promise<T> {
  try {
    const result = await work;
    ceremonies.inc({ kind, outcome: 'ok' });
    return result;
  } catch (error) {
    ceremonies.inc({ kind, outcome: 'rejected' });
    throw error;
  }
}
