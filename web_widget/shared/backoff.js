// Reconnect delays: exponential with "equal jitter", so a fleet of phones that lost the
// network together does not reconnect in lockstep, and no client waits longer than `max`.

export const DEFAULT_BACKOFF = Object.freeze({ base: 500, factor: 2, max: 15000 });

/** Delay in ms before reconnect attempt `attempt` (0-based). `random` returns [0, 1). */
export function backoffDelay(attempt, { base, factor, max } = DEFAULT_BACKOFF, random = Math.random) {
  const n = Math.max(0, Math.min(30, Math.floor(attempt)));
  const ceiling = Math.min(max, base * factor ** n);
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
