/**
 * A small seeded generator (mulberry32) and the draws the demo makes with it, so two demos of the same size hold
 * the same data (README "Dashboards and demo data").
 */
export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  /** True with probability p. */
  chance(p: number): boolean;
  /** An integer in [min, max]. */
  int(min: number, max: number): number;
  pick<T>(list: readonly T[]): T;
  /** An index of `weights`, each drawn in proportion to its weight. */
  weighted(weights: readonly number[]): number;
  /** Normal with this mean and standard deviation (Box-Muller). */
  normal(mean: number, sd: number): number;
  /** Log-normal with this median; `spread` is the standard deviation of its logarithm. */
  logNormal(median: number, spread: number): number;
  /** `count` distinct indexes of `weights` (fewer when fewer have a positive weight), weighted draws. */
  distinct(weights: readonly number[], count: number): number[];
}

export function seededRandom(seed: number): Random {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const weighted = (weights: readonly number[]) => {
    const total = weights.reduce((sum, w) => sum + w, 0);
    let r = next() * total;
    for (let i = 0; i < weights.length; i++) {
      r -= weights[i]!;
      if (r < 0) return i;
    }
    return weights.length - 1;
  };
  const normal = (mean: number, sd: number) =>
    mean + sd * Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
  return {
    next,
    chance: (p) => next() < p,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    pick: (list) => list[Math.floor(next() * list.length)]!,
    weighted,
    normal,
    logNormal: (median, spread) => median * Math.exp(normal(0, spread)),
    distinct(weights, count) {
      const left = [...weights];
      const out: number[] = [];
      while (out.length < count && left.some((w) => w > 0)) {
        const i = weighted(left);
        out.push(i);
        left[i] = 0;
      }
      return out;
    },
  };
}
