/** Time as jobs see it: injected, so tests can pin run timestamps (docs/STYLE.md "Tests"). */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
