/**
 * A small deterministic k-means: k-means++ seeding from a fixed-seed PRNG, Lloyd iterations, the
 * best of a few seeded restarts. Same points in the same order → same clusters.
 */

/** mulberry32: a tiny, well-known 32-bit PRNG; enough for seeding. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function distance2(a: number[], b: number[]): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i]! - b[i]!) ** 2;
  return sum;
}

function nearest(point: number[], centroids: number[][]): { index: number; d: number } {
  let index = 0;
  let d = Infinity;
  centroids.forEach((c, i) => {
    const di = distance2(point, c);
    if (di < d) {
      d = di;
      index = i;
    }
  });
  return { index, d };
}

function seedCentroids(points: number[][], k: number, random: () => number): number[][] {
  const centroids = [points[Math.floor(random() * points.length)]!.slice()];
  while (centroids.length < k) {
    const weights = points.map((p) => nearest(p, centroids).d);
    const total = weights.reduce((a, b) => a + b, 0);
    if (total === 0) {
      centroids.push(points[centroids.length % points.length]!.slice());
      continue;
    }
    let target = random() * total;
    let chosen = weights.length - 1;
    for (let i = 0; i < weights.length; i++) {
      target -= weights[i]!;
      if (target <= 0) {
        chosen = i;
        break;
      }
    }
    centroids.push(points[chosen]!.slice());
  }
  return centroids;
}

export interface KMeansResult {
  /** Cluster index per point. */
  assignment: number[];
  centroids: number[][];
  inertia: number;
}

function run(points: number[][], k: number, seed: number, maxIterations: number): KMeansResult {
  const random = prng(seed);
  let centroids = seedCentroids(points, k, random);
  let assignment = points.map(() => -1);
  for (let iteration = 0; iteration < maxIterations; iteration++) {
    const next = points.map((p) => nearest(p, centroids).index);
    const changed = next.some((c, i) => c !== assignment[i]);
    assignment = next;
    if (!changed) break;
    const dims = points[0]!.length;
    const sums = centroids.map(() => new Array<number>(dims).fill(0));
    const counts = centroids.map(() => 0);
    points.forEach((p, i) => {
      const c = assignment[i]!;
      counts[c]!++;
      for (let d = 0; d < dims; d++) sums[c]![d]! += p[d]!;
    });
    centroids = sums.map((sum, c) => {
      if (counts[c]! > 0) return sum.map((s) => s / counts[c]!);
      // An empty cluster takes the point farthest from its centroid.
      let far = 0;
      let farD = -1;
      points.forEach((p, i) => {
        const d = distance2(p, centroids[assignment[i]!]!);
        if (d > farD) {
          farD = d;
          far = i;
        }
      });
      return points[far]!.slice();
    });
  }
  const inertia = points.reduce((sum, p, i) => sum + distance2(p, centroids[assignment[i]!]!), 0);
  return { assignment, centroids, inertia };
}

/** k clusters of `points` (k ≤ points.length): the lowest-inertia run of `restarts` seeded runs. */
export function kMeans(points: number[][], k: number, options: { seed?: number; restarts?: number; maxIterations?: number } = {}): KMeansResult {
  const { seed = 42, restarts = 8, maxIterations = 100 } = options;
  let best: KMeansResult | null = null;
  for (let r = 0; r < restarts; r++) {
    const result = run(points, k, seed + r, maxIterations);
    if (!best || result.inertia < best.inertia - 1e-12) best = result;
  }
  return best!;
}
