/** Public shapes of the simulator: options, manifest, control handle. */
import type { FaultFractions, FaultMode } from './faults';
import type { ResponseFormat } from './meter-model';
import type { PushCounters } from './pusher';
import type { EnergyUnit } from './registers';

export type FormatOption = ResponseFormat | 'mixed';

export interface SimulatorOptions {
  /** Number of meters (default 10). */
  meters?: number;
  /** Gateway bind address (default 127.0.0.1). Non-loopback only when asked for explicitly. */
  host?: string;
  /** Gateway port; 0 = ephemeral (default 0). */
  port?: number;
  /**
   * Gives every meter its own listener, identified by the local address + port a request arrives on:
   * a CIDR (`127.20.0.0/16`) or a list of loopback addresses. Meters wrap over the addresses, taking
   * the next port each round.
   */
  addresses?: string | string[];
  /**
   * Port of the per-meter listeners (default: the gateway port, or ephemeral when that is 0). Given without
   * `addresses`, every meter listens on the gateway host at meterPort + its index.
   */
  meterPort?: number;
  /** Response format: all format 1 (`array`), all format 2 (`object`) or a seeded mix (default). */
  format?: FormatOption;
  /** Fractions of the fleet put in each fault mode at start (exact counts, seeded choice). */
  faults?: FaultFractions;
  /** Delay of `slow` meters in ms (default 3000). */
  slowMs?: number;
  /** A `flapping` meter alternates ok / dead every this many reads (default 5). */
  flappingEvery?: number;
  /** Seed for every per-meter parameter and choice (default 42). */
  seed?: number;
  /** Meter number prefix: `SIM` gives SIM-000001 (default SIM). */
  prefix?: string;
  /** Control API port on 127.0.0.1; 0 = ephemeral (default 0). */
  controlPort?: number;
  /** Unit of the energy registers in format 1: Wh (scaler 0, default) or kWh (scaler −3). */
  energyUnit?: EnergyUnit;
  /** Instantaneous values change every this many ms (default 1000). */
  noiseIntervalMs?: number;
  /** Capture period of every meter's load profile, in seconds (default 900: 15 minutes). */
  profilePeriodSec?: number;
  /** Writes the manifest (JSON array of ManifestEntry) to this path once listening. */
  manifestPath?: string;
  /**
   * Meters push like the seed system's simulator: readings every `intervalMs` to `<url>/push/readings`,
   * alarms to `<url>/push/alarms`, signed with their secret (`secrets` by meter number, or set later
   * through the control API); a meter without a secret does not push.
   */
  push?: { url: string; intervalMs: number; secrets?: Record<string, string> };
  /** Warnings (e.g. file descriptor limits); default console.warn. */
  log?: (line: string) => void;
}

/** Where a meter answers and how it starts out; one element of the manifest. */
export interface ManifestEntry {
  meterNumber: string;
  ipAddress: string;
  port: number;
  format: ResponseFormat;
  fault: FaultMode;
  slowMs?: number;
  flappingEvery?: number;
}

export interface MeterSummary extends ManifestEntry {
  /** True when the meter has its own listener; false when only reachable through the gateway. */
  dedicated: boolean;
  /** For a dedicated meter: whether its listener accepts connections (a dead one refuses). */
  listening: boolean;
  /** Disconnect control relay state. */
  connected: boolean;
  reads: number;
  writes: number;
  /** Reads answered with a valid 200 body. */
  answered: number;
  lastReadAt: number | null;
}

export interface RegisterValue {
  /** As format 1 sends it: raw integer (physical = value × 10^scaler) or text. */
  value: number | string;
  unit: string;
  scaler: number;
  /** value × 10^scaler in `unit` (format 2 sends energy in Wh regardless). */
  physical: number | string;
}

export interface MeterDetail extends MeterSummary {
  thresholdW: number;
  /** Epoch ms of the last reads (up to 20), oldest first. */
  recentReads: number[];
  /** The meter's true values now (epoch ms in `valuesAt`), keyed by canonical OBIS code. */
  valuesAt: number;
  values: Record<string, RegisterValue>;
  /** Exactly what the last answered read reported (all registers), or null before the first. */
  lastServed: { at: number; values: Record<string, RegisterValue> } | null;
}

export interface ReadWriteCount {
  reads: number;
  writes: number;
}

export interface CounterSnapshot {
  at: number;
  totals: ReadWriteCount & {
    /** Reads answered with a valid 200 body. */
    answered: number;
    /** Requests rejected before a meter was known (bad JSON, missing fields). */
    badRequests: number;
    /** Requests for an unknown meter number, or a meter not at that address. */
    notFound: number;
  };
  /** Requests per fault mode the meter was in when the request arrived. */
  byFault: Record<FaultMode, ReadWriteCount>;
  /** Per meter, only meters with at least one read or write. */
  meters: Record<
    string,
    ReadWriteCount & { answered: number; lastReadAt: number | null; recentReads?: number[] }
  >;
}

export interface SetFaultOptions {
  slowMs?: number;
  flappingEvery?: number;
}

export interface ListOptions {
  offset?: number;
  limit?: number;
  fault?: FaultMode;
}

/** In-process control handle; the HTTP control API maps onto it one to one. */
export interface SimulatorControl {
  listMeters(options?: ListOptions): { total: number; meters: MeterSummary[] };
  getMeter(meterNumber: string): MeterSummary | undefined;
  /** Summary plus the meter's true current values and what it last reported. */
  meterState(meterNumber: string): MeterDetail | undefined;
  /** Switches a meter's fault; resolves once a dedicated listener is closed / listening again. */
  setFault(meterNumber: string, mode: FaultMode, options?: SetFaultOptions): Promise<MeterSummary>;
  /** Same for many meters (all when meterNumbers is omitted); resolves with the number changed. */
  setFaults(mode: FaultMode, meterNumbers?: string[], options?: SetFaultOptions): Promise<number>;
  counters(options?: { recentReads?: boolean }): CounterSnapshot;
  /** Pushing meters (options.push): sets the secret a meter signs its pushes with. */
  setPushSecret(meterNumber: string, secret: string): void;
  /** Pushing meters: the meter raises `alarm` now; resolves with the head-end's HTTP status (0: unreachable). */
  raiseAlarm(meterNumber: string, alarm: string, details?: Record<string, unknown>): Promise<number>;
  /** Pushing meters: what was pushed and how it was answered; null when the fleet does not push. */
  pushCounters(): PushCounters | null;
  resetCounters(): void;
  /**
   * Sets a meter's clock `offsetMs` away from true time, drifting `driftPpm` from now on (0 when omitted),
   * as a test's way to give a meter a wrong or drifting clock. Marks the next profile entry clock-adjusted.
   */
  setClock(meterNumber: string, options: { offsetMs?: number; driftPpm?: number }): ClockState;
}

export interface ClockState {
  /** The meter's clock now (ISO UTC). */
  clock: string;
  offsetMs: number;
  driftPpm: number;
}

export interface RunningSimulator {
  /** The manifest: where each meter answers and its initial format and fault. */
  meters: ManifestEntry[];
  /** Gateway base URL (meters addressed by meterNumber in the body). */
  gatewayUrl: string;
  controlUrl: string;
  control: SimulatorControl;
  stop(): Promise<void>;
}
