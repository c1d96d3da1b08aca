/**
 * One simulated meter: static electrical parameters drawn from the seed, and the little state that must
 * persist (written values, fault mode, counters, the few periods its energy stopped). Instantaneous values
 * are a pure function of time (a per-second noise bucket plus a slow load cycle), so the fleet needs no
 * timers: values are computed when a request arrives. Energy is the closed-form integral of the mean
 * power (the load cycle integrates exactly), minus what the periods without energy (relay open, power
 * off) would have added: so the registers at any past instant, and hence the load profile over the last
 * 35 days, are computed on demand, with no history kept per meter.
 */
import type { FaultMode } from './faults';
import { mix32, prng, unit } from './prng';
import {
  getProfile,
  EnergyUnit,
  Profile,
  S_ABS,
  S_AT,
  S_CLOCK_MS,
  S_CONNECTED,
  S_EXPORT,
  S_FREQ,
  S_I1,
  S_I2,
  S_I3,
  S_IMPORT,
  S_P1,
  S_P2,
  S_P3,
  S_PF,
  S_PT,
  S_THRESHOLD,
  S_TZ_MIN,
  S_V1,
  S_V2,
  S_V3,
  SNAPSHOT_SIZE,
} from './registers';

export type ResponseFormat = 'array' | 'object';

const RECENT_READS = 20;
const MS_PER_HOUR = 3_600_000;
/**
 * Energy registers start from a seeded base at this date and integrate from it, so they keep growing
 * across simulator restarts as a real meter's would, never stepping back.
 */
const REGISTER_EPOCH_MS = Date.UTC(2026, 0, 1);
const THRESHOLDS_W = [6900, 9200, 13800, 17250];
/** Periods without energy (and power-downs) remembered per meter; older ones are folded into a constant. */
const MAX_REMEMBERED_PERIODS = 64;

/** Monotonic epoch milliseconds: energy integration must never see time go backwards. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * Fleet-wide buffers for per-meter read history and last served values: one allocation instead of two
 * typed arrays per meter (100k meters), and pages of meters never read are never touched.
 */
export class MeterStore {
  readonly recent: Float64Array;
  readonly served: Float64Array;
  constructor(count: number) {
    this.recent = new Float64Array(count * RECENT_READS);
    this.served = new Float64Array(count * SNAPSHOT_SIZE);
  }
}

export interface MeterParams {
  index: number;
  meterNumber: string;
  seed: number;
  format: ResponseFormat;
  energyUnit: EnergyUnit;
  noiseIntervalMs: number;
  ipAddress: string;
  port: number;
  dedicated: boolean;
  startedAt: number;
  store: MeterStore;
}

export class SimMeter {
  readonly index: number;
  readonly meterNumber: string;
  /** JSON text of the meter number, precomputed for responses. */
  readonly serialJson: string;
  readonly format: ResponseFormat;
  readonly profile: Profile;
  ipAddress: string;
  port: number;
  /** True when the meter has its own listener (identity by local address + port). */
  readonly dedicated: boolean;

  // Static electrical parameters.
  private readonly noiseSeed: number;
  private readonly noiseIntervalMs: number;
  private readonly vNom1: number;
  private readonly vNom2: number;
  private readonly vNom3: number;
  private readonly iBase1: number;
  private readonly iBase2: number;
  private readonly iBase3: number;
  private readonly pfBase: number;
  private readonly loadPeriodMs: number;
  private readonly loadPhase: number;
  /** Mean export (PV) power in W; 0 for meters without generation. */
  private readonly exportW: number;
  /** 10^−scaler of the current registers. */
  private readonly currentDivisor: number;
  /** Mean import power at load 1 (Σ V·I·PF of the phases), W. */
  private readonly meanImportW: number;
  /** 0.3 · loadPeriod / 2π: amplitude of the integral of the load cycle, ms. */
  private readonly loadIntegralAmp: number;
  private readonly importBaseWh: number;
  private readonly exportBaseWh: number;

  // Persistent register state.
  connected = true;
  thresholdW: number;
  clockOffsetMs = 0;
  clockTzMin = 0;
  /** Clock drift in parts per million since `clockSetAt` (a test gives a meter a drifting clock). */
  clockDriftPpm = 0;
  clockSetAt = 0;
  /** Epoch ms of the last clock settings (CAD status bit of the profile entry after them). */
  clockAdjustments: number[] | null = null;
  /** Flat [start, end) pairs when no energy flowed (relay open or power off); end Infinity while open. */
  private energyStops: number[] | null = null;
  /** Flat [start, end) pairs of power-downs: the profile records nothing then. */
  powerDowns: number[] | null = null;
  private foldedImportWh = 0;
  private foldedExportWh = 0;
  /** True while the `power-off` fault holds: no energy, no recording, no answers. */
  poweredOff = false;

  // Fault state.
  fault: FaultMode = 'ok';
  slowMs = 0;
  flappingEvery = 0;
  flapCount = 0;
  garbageCount = 0;

  // Counters.
  reads = 0;
  writes = 0;
  answered = 0;
  lastReadAt = 0;
  recentCount = 0;
  /** Whether store.served holds the snapshot behind a read this meter answered. */
  hasServed = false;
  private readonly store: MeterStore;

  constructor(p: MeterParams) {
    this.index = p.index;
    this.meterNumber = p.meterNumber;
    this.serialJson = JSON.stringify(p.meterNumber);
    this.format = p.format;
    this.ipAddress = p.ipAddress;
    this.port = p.port;
    this.dedicated = p.dedicated;
    this.store = p.store;
    this.noiseIntervalMs = p.noiseIntervalMs;
    const rnd = prng(mix32(p.seed, p.index + 1));
    this.noiseSeed = mix32(p.seed ^ 0x5eed, p.index);
    this.profile = getProfile(rnd() < 0.5 ? -3 : -2, p.energyUnit);
    this.currentDivisor = 10 ** -this.profile.currentScaler;
    this.vNom1 = 226 + rnd() * 8;
    this.vNom2 = 226 + rnd() * 8;
    this.vNom3 = 226 + rnd() * 8;
    // Household phases: mostly light loads with the occasional heavy one.
    this.iBase1 = 0.3 + 11.7 * rnd() ** 2;
    this.iBase2 = 0.3 + 11.7 * rnd() ** 2;
    this.iBase3 = 0.3 + 11.7 * rnd() ** 2;
    this.pfBase = 0.82 + rnd() * 0.16;
    this.loadPeriodMs = (5 + rnd() * 15) * 60_000;
    this.loadPhase = rnd() * 2 * Math.PI;
    const hasPv = rnd() < 0.25;
    this.exportW = hasPv ? 200 + rnd() * 1800 : 0;
    this.importBaseWh = 500_000 + rnd() * 14_500_000;
    this.exportBaseWh = hasPv ? rnd() * 3_000_000 : 0;
    this.thresholdW = THRESHOLDS_W[Math.floor(rnd() * THRESHOLDS_W.length)];
    this.meanImportW =
      (this.vNom1 * this.iBase1 + this.vNom2 * this.iBase2 + this.vNom3 * this.iBase3) * this.pfBase;
    this.loadIntegralAmp = (0.3 * this.loadPeriodMs) / (2 * Math.PI);
  }

  /** The meter's clock at true time `t`: offset, plus its drift since it was last set. */
  clockAt(t: number): number {
    return t + this.clockOffsetMs + ((t - this.clockSetAt) * this.clockDriftPpm) / 1e6;
  }

  /** Sets the clock so that it reads `clockMs` at true time `t` (a write, or a test's offset). */
  setClock(clockMs: number, t: number, driftPpm = this.clockDriftPpm): void {
    this.clockOffsetMs = clockMs - t;
    this.clockSetAt = t;
    this.clockDriftPpm = driftPpm;
    this.clockAdjustments = remember(this.clockAdjustments, t);
  }

  /** Energy that would have been imported (and exported) from the register epoch to `t`, never stopping. */
  private importIntegralWh(t: number): number {
    const phase = (ms: number) =>
      (2 * Math.PI * (ms % this.loadPeriodMs)) / this.loadPeriodMs + this.loadPhase;
    const loadMs =
      t -
      REGISTER_EPOCH_MS -
      this.loadIntegralAmp * (Math.cos(phase(t)) - Math.cos(phase(REGISTER_EPOCH_MS)));
    return (this.meanImportW * loadMs) / MS_PER_HOUR;
  }

  private exportIntegralWh(t: number): number {
    return (this.exportW * (t - REGISTER_EPOCH_MS)) / MS_PER_HOUR;
  }

  /** Import and export energy registers (Wh, fractional) at `t`: pure in t, given the periods without energy. */
  energyAt(t: number): [number, number] {
    let imp = this.importBaseWh + this.importIntegralWh(t) - this.foldedImportWh;
    let exp = this.exportBaseWh + this.exportIntegralWh(t) - this.foldedExportWh;
    const stops = this.energyStops;
    if (stops !== null) {
      for (let i = 0; i < stops.length; i += 2) {
        const start = stops[i];
        if (start >= t) continue;
        const end = Math.min(stops[i + 1], t);
        imp -= this.importIntegralWh(end) - this.importIntegralWh(start);
        exp -= this.exportIntegralWh(end) - this.exportIntegralWh(start);
      }
    }
    return [imp, exp];
  }

  private get energyFlows(): boolean {
    return this.connected && !this.poweredOff;
  }

  /** Opens or closes a period without energy when the relay or the power changed at `t`. */
  private energyChanged(flowedBefore: boolean, t: number): void {
    const flows = this.energyFlows;
    if (flows === flowedBefore) return;
    if (!flows) {
      this.energyStops ??= [];
      this.energyStops.push(t, Infinity);
      if (this.energyStops.length > 2 * MAX_REMEMBERED_PERIODS) {
        // Fold the oldest (closed) period into constants: the registers stay exact, only profile entries
        // older than it would no longer see it.
        const [start, end] = this.energyStops.splice(0, 2);
        this.foldedImportWh += this.importIntegralWh(end) - this.importIntegralWh(start);
        this.foldedExportWh += this.exportIntegralWh(end) - this.exportIntegralWh(start);
      }
    } else if (this.energyStops !== null) {
      this.energyStops[this.energyStops.length - 1] = t;
    }
  }

  /** The `power-off` fault: power lost at `t` (no energy, no profile entries) or back. */
  setPowered(powered: boolean, t: number): void {
    if (powered === !this.poweredOff) return;
    const flowed = this.energyFlows;
    this.poweredOff = !powered;
    if (!powered) {
      this.powerDowns ??= [];
      this.powerDowns.push(t, Infinity);
      if (this.powerDowns.length > 2 * MAX_REMEMBERED_PERIODS) this.powerDowns.splice(0, 2);
    } else if (this.powerDowns !== null) {
      this.powerDowns[this.powerDowns.length - 1] = t;
    }
    this.energyChanged(flowed, t);
  }

  /** Fills `out` with the instantaneous values at `t` (no energy). Pure: same t, same values. */
  instant(t: number, out: Float64Array): void {
    const bucket = Math.floor(t / this.noiseIntervalMs);
    const h = mix32(this.noiseSeed, bucket);
    const load =
      1 + 0.3 * Math.sin((2 * Math.PI * (t % this.loadPeriodMs)) / this.loadPeriodMs + this.loadPhase);
    const v1 = Math.round((this.vNom1 + (unit(h, 1) - 0.5) * 3) * 10);
    const v2 = Math.round((this.vNom2 + (unit(h, 2) - 0.5) * 3) * 10);
    const v3 = Math.round((this.vNom3 + (unit(h, 3) - 0.5) * 3) * 10);
    const pfRaw = Math.round(Math.min(1, Math.max(0.8, this.pfBase + (unit(h, 7) - 0.5) * 0.02)) * 1000);
    const freqRaw = Math.round(5000 + (unit(h, 8) - 0.5) * 16);
    out[S_V1] = v1;
    out[S_V2] = v2;
    out[S_V3] = v3;
    out[S_PF] = pfRaw;
    out[S_FREQ] = freqRaw;
    out[S_THRESHOLD] = this.thresholdW;
    out[S_CLOCK_MS] = this.clockAt(t);
    out[S_TZ_MIN] = this.clockTzMin;
    out[S_CONNECTED] = this.connected ? 1 : 0;
    out[S_AT] = t;
    if (!this.connected) {
      out[S_I1] = out[S_I2] = out[S_I3] = 0;
      out[S_P1] = out[S_P2] = out[S_P3] = out[S_PT] = 0;
      return;
    }
    const iDiv = this.currentDivisor;
    const i1 = Math.round(this.iBase1 * load * (1 + (unit(h, 4) - 0.5) * 0.1) * iDiv);
    const i2 = Math.round(this.iBase2 * load * (1 + (unit(h, 5) - 0.5) * 0.1) * iDiv);
    const i3 = Math.round(this.iBase3 * load * (1 + (unit(h, 6) - 0.5) * 0.1) * iDiv);
    // Power from the reported (rounded) V, I and PF, so P = V·I·PF holds for what the client sees.
    const k = 1 / (10 * iDiv * 1000);
    const p1 = Math.round(v1 * i1 * pfRaw * k);
    const p2 = Math.round(v2 * i2 * pfRaw * k);
    const p3 = Math.round(v3 * i3 * pfRaw * k);
    out[S_I1] = i1;
    out[S_I2] = i2;
    out[S_I3] = i3;
    out[S_P1] = p1;
    out[S_P2] = p2;
    out[S_P3] = p3;
    out[S_PT] = p1 + p2 + p3;
  }

  /**
   * Instantaneous values and energy registers at `t`. Energy is the mean power integrated in closed form
   * (energyAt), so it only ever grows, stops while disconnected or powered off, and agrees with the load
   * profile at every capture time.
   */
  snapshot(t: number, out: Float64Array): void {
    this.instant(t, out);
    const [importWh, exportWh] = this.energyAt(t);
    const imp = Math.floor(importWh);
    const exp = Math.floor(exportWh);
    out[S_IMPORT] = imp;
    out[S_EXPORT] = exp;
    out[S_ABS] = imp + exp;
  }

  /** Opens or closes the relay at `t`. */
  setConnected(connected: boolean, t: number): void {
    if (connected === this.connected) return;
    const flowed = this.energyFlows;
    this.connected = connected;
    this.energyChanged(flowed, t);
  }

  recordRead(t: number): void {
    this.reads++;
    this.lastReadAt = t;
    this.store.recent[this.index * RECENT_READS + (this.recentCount % RECENT_READS)] = t;
    this.recentCount++;
  }

  /** Recent read times (epoch ms), oldest first. */
  recentReadTimes(): number[] {
    const base = this.index * RECENT_READS;
    const n = Math.min(this.recentCount, RECENT_READS);
    const out: number[] = [];
    for (let i = this.recentCount - n; i < this.recentCount; i++) {
      out.push(Math.round(this.store.recent[base + (i % RECENT_READS)]));
    }
    return out;
  }

  rememberServed(snap: Float64Array): void {
    this.store.served.set(snap, this.index * SNAPSHOT_SIZE);
    this.hasServed = true;
  }

  /** Copy of the snapshot behind the last answered read, or null before the first. */
  lastServed(): Float64Array | null {
    if (!this.hasServed) return null;
    const base = this.index * SNAPSHOT_SIZE;
    return this.store.served.slice(base, base + SNAPSHOT_SIZE);
  }

  resetCounters(): void {
    this.reads = 0;
    this.writes = 0;
    this.answered = 0;
    this.lastReadAt = 0;
    this.recentCount = 0;
  }
}

/** Appends `t` to a bounded list (oldest dropped). */
function remember(list: number[] | null, t: number): number[] {
  const out = list ?? [];
  out.push(t);
  if (out.length > MAX_REMEMBERED_PERIODS) out.shift();
  return out;
}

/** ISO 8601 with offset, second precision: `2025-06-01T14:00:00+02:00`. */
export function renderClock(clockMs: number, tzMin: number): string {
  const local = new Date(Math.floor(clockMs / 1000) * 1000 + tzMin * 60_000).toISOString().slice(0, 19);
  const sign = tzMin < 0 ? '-' : '+';
  const abs = Math.abs(tzMin);
  const hh = String(Math.floor(abs / 60)).padStart(2, '0');
  const mm = String(abs % 60).padStart(2, '0');
  return `${local}${sign}${hh}:${mm}`;
}
