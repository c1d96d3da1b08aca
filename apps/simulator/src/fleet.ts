/** The meters of one simulator, looked up by number, and the request counters tests rely on. */
import { FAULT_MODES, FaultAction, FaultMode } from './faults';
import { DEFAULT_PROFILE_PERIOD_SEC } from './load-profile';
import { SimMeter } from './meter-model';
import type { ReadWriteCount } from './types';

export class Fleet {
  readonly byNumber = new Map<string, SimMeter>();
  totals = { reads: 0, writes: 0, answered: 0, badRequests: 0, notFound: 0 };
  byFault = Fleet.emptyByFault();
  /** Pending `slow` answers, cleared on stop. */
  readonly timers = new Set<NodeJS.Timeout>();

  /**
   * @param profilePeriodMs capture period of every meter's load profile
   */
  constructor(
    readonly meters: SimMeter[],
    readonly profilePeriodMs = DEFAULT_PROFILE_PERIOD_SEC * 1000,
  ) {
    for (const m of meters) this.byNumber.set(m.meterNumber, m);
  }

  private static emptyByFault(): Record<FaultMode, ReadWriteCount> {
    const r = {} as Record<FaultMode, ReadWriteCount>;
    for (const f of FAULT_MODES) r[f] = { reads: 0, writes: 0 };
    return r;
  }

  /**
   * Counts a request for `meter` (every /api/read counts, whatever the fault makes of it) and decides what
   * the meter does with it. A flapping meter answers its first N reads, is dead for the next N, and so on.
   */
  admit(meter: SimMeter, isRead: boolean, t: number): FaultAction {
    const fault = meter.fault;
    if (isRead) {
      meter.recordRead(t);
      this.totals.reads++;
      this.byFault[fault].reads++;
    } else {
      meter.writes++;
      this.totals.writes++;
      this.byFault[fault].writes++;
    }
    switch (fault) {
      case 'ok':
        return 'ok';
      case 'dead':
      case 'power-off':
        return 'reset';
      case 'flapping': {
        const phase = Math.floor(meter.flapCount / meter.flappingEvery) % 2;
        if (isRead) meter.flapCount++;
        return phase === 0 ? 'ok' : 'reset';
      }
      default:
        return fault;
    }
  }

  resetCounters(): void {
    this.totals = { reads: 0, writes: 0, answered: 0, badRequests: 0, notFound: 0 };
    this.byFault = Fleet.emptyByFault();
    for (const m of this.meters) if (m.reads || m.writes || m.recentCount) m.resetCounters();
  }
}
