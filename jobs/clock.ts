/** Time as jobs see it: injected, so tests can pin run timestamps (STYLE.md "Jobs get an injected clock"). */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
