/**
 * What the benchmarks share: their BENCH_* settings, a percentile, registering a simulated fleet in one
 * statement, and how a run ends (its exit code).
 */
import type { RunningSimulator } from '../apps/simulator/src';
import type { Queryable } from '../test/fault-assertions';

/** The number in env variable `name` (or `fallback` when unset); throws unless it is within min..max. */
export function envNumber(name: string, fallback: number, min: number, max: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value < min || value > max)
    throw new Error(`${name} must be ${min}..${max}`);
  return value;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The p-quantile (0..1) of ascending `sorted` (nearest rank, rounding down); NaN when it is empty. */
export function percentile(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : NaN;
}

/**
 * Registers every simulated meter in area `areaId` in one statement (registration is not what a benchmark
 * measures), status `online` at the simulator's gateway (meterNumber addressing).
 */
export async function insertGatewayMeters(
  db: Queryable,
  sim: Pick<RunningSimulator, 'meters' | 'gatewayUrl'>,
  areaId: string,
): Promise<{ id: string; meter_number: string }[]> {
  const gateway = new URL(sim.gatewayUrl);
  const { rows } = await db.query<{ id: string; meter_number: string }>(
    `insert into meters (meter_number, meter_type, brand, model, area_id, ip_address, port, status)
     select n, 'three-phase', 'simulated', 'SIM-1', $2, $3, $4, 'online' from unnest($1::text[]) as n
     returning id, meter_number`,
    [sim.meters.map((m) => m.meterNumber), areaId, gateway.hostname, Number(gateway.port)],
  );
  return rows;
}

/** Runs a benchmark's main: exits with process.exitCode (0 unless main set it) once it is done, 1 on an error. */
export function runBench(main: () => Promise<void>): void {
  main().then(
    () => process.exit(),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
