/**
 * Meters that push, like the seed system's simulator ("10 meters sending data every 30 seconds"): each
 * meter with a push secret POSTs its default registers to `<url>/push/readings` every interval (spread
 * over the interval by meter index), signed `X-Meter-Signature: t=<unix s>,v1=<hex HMAC-SHA256(secret,
 * t + "." + body)>`, and raises alarms at `<url>/push/alarms`. A meter in power-off pushes nothing.
 */
import { createHmac } from 'node:crypto';
import type { SimMeter } from './meter-model';
import { nowMs } from './meter-model';
import { buildReadBody } from './protocol-server';
import { DEFAULT_OBIS_CODES } from './registers';

/** Pushes in flight at once, whatever the fleet size: a slow head-end slows the pushes, not memory. */
const MAX_IN_FLIGHT = 256;
const PUSH_TIMEOUT_MS = 10_000;

export interface PushCounters {
  readings: number;
  alarms: number;
  /** Pushes answered with a 2xx. */
  accepted: number;
  /** Pushes refused (non-2xx) or failed (network), and pushes skipped because too many were in flight. */
  refused: number;
  failed: number;
  skipped: number;
  lastError: string | null;
}

/** Same signature as the head-end checks (duplicated here: the simulator imports nothing of the apps). */
export function signPushBody(secret: string, body: string, t = Math.floor(Date.now() / 1000)): string {
  return `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`;
}

export class MeterPusher {
  readonly counters: PushCounters = {
    readings: 0,
    alarms: 0,
    accepted: 0,
    refused: 0,
    failed: 0,
    skipped: 0,
    lastError: null,
  };
  private readonly secrets = new Map<string, string>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private inFlight = 0;
  private stopped = false;

  constructor(
    private readonly url: string,
    private readonly intervalMs: number,
    private readonly meters: readonly SimMeter[],
    secrets: Record<string, string> = {},
  ) {
    for (const [n, s] of Object.entries(secrets)) this.secrets.set(n, s);
  }

  setSecret(meterNumber: string, secret: string): void {
    this.secrets.set(meterNumber, secret);
  }

  start(): void {
    const n = this.meters.length;
    this.meters.forEach((m, i) => {
      const first = setTimeout(
        () => {
          this.timers.delete(first);
          this.pushReading(m);
          const every = setInterval(() => this.pushReading(m), this.intervalMs);
          this.timers.add(every);
        },
        Math.floor((i * this.intervalMs) / n),
      );
      this.timers.add(first);
    });
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  /** Sends one alarm now; resolves with the head-end's HTTP status (0 when it could not be reached). */
  async alarm(meter: SimMeter, alarm: string, details?: Record<string, unknown>): Promise<number> {
    const body = JSON.stringify({
      meterNumber: meter.meterNumber,
      alarm,
      timestamp: new Date().toISOString(),
      ...(details ? { details } : {}),
    });
    this.counters.alarms++;
    return this.post(meter, '/push/alarms', body, true);
  }

  private pushReading(meter: SimMeter): void {
    if (this.stopped || meter.fault === 'power-off' || meter.fault === 'dead') return;
    if (!this.secrets.has(meter.meterNumber)) return;
    if (this.inFlight >= MAX_IN_FLIGHT) {
      this.counters.skipped++;
      return;
    }
    const answer = buildReadBody(meter, DEFAULT_OBIS_CODES, nowMs());
    const envelope = `{"meterNumber":${meter.serialJson},"timestamp":"${new Date().toISOString()}"`;
    const body = answer === '{}' ? `${envelope}}` : `${envelope},${answer.slice(1)}`;
    this.counters.readings++;
    void this.post(meter, '/push/readings', body, false);
  }

  private async post(meter: SimMeter, path: string, body: string, force: boolean): Promise<number> {
    const secret = this.secrets.get(meter.meterNumber);
    if (!secret || (this.stopped && !force)) return 0;
    this.inFlight++;
    try {
      const res = await fetch(`${this.url}${path}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Meter-Signature': signPushBody(secret, body) },
        body,
        signal: AbortSignal.timeout(PUSH_TIMEOUT_MS),
      });
      await res.arrayBuffer();
      if (res.ok) this.counters.accepted++;
      else {
        this.counters.refused++;
        this.counters.lastError = `${path}: HTTP ${res.status}`;
      }
      return res.status;
    } catch (err) {
      this.counters.failed++;
      this.counters.lastError = `${path}: ${(err as Error).message}`;
      return 0;
    } finally {
      this.inFlight--;
    }
  }
}
