/** Small deterministic number generators: the whole fleet must be reproducible from `--seed`. */

/** 32-bit avalanche hash of two integers (murmur3 finaliser), for stateless per-time-bucket noise. */
export function mix32(a: number, b: number): number {
  let h = (a + Math.imul(b, 0x9e3779b1)) | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Uniform [0, 1) from two integers, without state. */
export function unit(a: number, b: number): number {
  return mix32(a, b) / 4294967296;
}

/** Sequential generator (mulberry32) for drawing a meter's static parameters. */
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
