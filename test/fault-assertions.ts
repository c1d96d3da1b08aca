/**
 * What every fault suite checks once its fault is over (issue 8, guarantee 2), and the few probes it needs
 * to inject a fault at a precise moment. Each check returns a report whose `problems` list is empty when
 * the guarantee held, so a suite asserts `expect(report.problems).toEqual([])` and a failure reads as a
 * list of sentences, one per meter or tick that went wrong; the bench prints the same reports.
 *
 *   const pause = PollingPause.connect(env);     // BullMQ pause of the poll and command queues
 *   const { since, resumedAt } = await pause.openWindow(sim.controlUrl);  // counters reset, nothing in flight
 *   // … inject the fault, let polling run …
 *   await pause.pause();                           // nothing in flight: judge the window
 *   const answers = await everyAnswerStoredOnce({ db, simulator: sim.controlUrl, meters, since });
 *   const ticks = await everyTickStoredOnce(db, { meterIds, from, to, intervalMs });
 *   const duplicates = await noDuplicateTicks(db, { meterIds, since });
 *   // or the three at once: judgeWindow({ db, simulator, meters, since, resumedAt, pausedAt, … })
 *   const resumed = await pollingResumed(db, { meterIds, after: faultOverAt, intervalMs, intervals: 2 });
 *   expect(allAlive({ api, worker1, worker2 }).problems).toEqual([]);
 *
 * Counting rule: the simulator counts a read as answered when it sends a valid 200 body; the head-end
 * must then hold exactly one successful (success or partial) read record for it. Compare over a window
 * that starts and ends while nothing is in flight (PollingPause), with the simulator's counters reset at
 * its start, so that both sides count the same reads.
 */
import {
  bullRootOptions,
  intervalIndex,
  pollSlotCount,
  QUEUES,
  slotBucketRange,
  slotOffsetMs,
} from '@app/contracts';
import type { StartedProcess } from '@app/testing';
import { Job, Queue } from 'bullmq';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { QueryResult, QueryResultRow } from 'pg';
import type { CounterSnapshot } from '../apps/simulator/src';

/** A pg Client or Pool. */
export interface Queryable {
  query<R extends QueryResultRow>(text: string, values?: unknown[]): Promise<QueryResult<R>>;
}

/** The simulator's control API base URL, or a function returning its counters (in-process handle). */
export type CounterSource = string | (() => CounterSnapshot | Promise<CounterSnapshot>);

export async function simulatorCounters(source: CounterSource): Promise<CounterSnapshot> {
  if (typeof source !== 'string') return source();
  const res = await fetch(new URL('/counters', source));
  if (!res.ok) throw new Error(`simulator control API: GET /counters answered ${res.status}`);
  return (await res.json()) as CounterSnapshot;
}

export async function resetSimulatorCounters(source: string | { resetCounters(): void }): Promise<void> {
  if (typeof source !== 'string') return source.resetCounters();
  const res = await fetch(new URL('/counters/reset', source), { method: 'POST' });
  if (!res.ok) throw new Error(`simulator control API: POST /counters/reset answered ${res.status}`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * `probe` until it returns a value, retrying its errors (right after a fault a pooled connection may still
 * be a dead one) until `deadline`, then throwing the last one.
 */
async function retrying<T>(deadline: number, probe: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await probe();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(250);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// (a) every answer stored exactly once

/** Answers the simulator may have given that the head-end could not keep: a process holding them was killed. */
export interface KilledInFlight {
  /** Meters the killed process may have been reading (e.g. every meter of every batch active at the kill). */
  meterIds: ReadonlySet<string>;
}

export interface MeterAnswers {
  meterNumber: string;
  meterId: string;
  answered: number;
  stored: number;
}

export interface AnswersReport {
  answered: number;
  stored: number;
  /** answered − stored over the meters where the tolerance applied (reads a killed process held). */
  lostToKill: number;
  perMeter: MeterAnswers[];
  problems: string[];
}

export interface AnswersOptions {
  db: Queryable;
  simulator: CounterSource;
  /** meterNumber → meter id of every meter to compare. */
  meters: ReadonlyMap<string, string>;
  /** Start of the window: the simulator's counters were reset then, with nothing in flight. */
  since: Date;
  /**
   * Only where a test kills a process holding answered-but-unstored reads: those meters may have one
   * answer more than stored records (never fewer answers, never two lost reads of one meter).
   */
  killedInFlight?: KilledInFlight;
  /** How long to wait for the last stores (retried stores land late) before reporting a difference. */
  settleMs?: number;
}

async function storedSuccessfulReads(
  db: Queryable,
  meterIds: readonly string[],
  since: Date,
): Promise<Map<string, number>> {
  const { rows } = await db.query<{ meter_id: string; n: number }>(
    `SELECT meter_id, count(*)::int AS n FROM meter_reads
     WHERE meter_id = ANY($1::uuid[]) AND read_at >= $2 AND communication_status <> 'failed'
     GROUP BY meter_id`,
    [meterIds, since],
  );
  return new Map(rows.map((r) => [r.meter_id, r.n]));
}

function compareAnswers(
  counters: CounterSnapshot,
  stored: Map<string, number>,
  options: AnswersOptions,
): AnswersReport {
  const report: AnswersReport = { answered: 0, stored: 0, lostToKill: 0, perMeter: [], problems: [] };
  const tolerated = options.killedInFlight?.meterIds ?? new Set<string>();
  for (const [meterNumber, meterId] of options.meters) {
    const row: MeterAnswers = {
      meterNumber,
      meterId,
      answered: counters.meters[meterNumber]?.answered ?? 0,
      stored: stored.get(meterId) ?? 0,
    };
    report.perMeter.push(row);
    report.answered += row.answered;
    report.stored += row.stored;
    const missing = row.answered - row.stored;
    if (missing === 0) continue;
    if (missing === 1 && tolerated.has(meterId)) {
      report.lostToKill++;
      continue;
    }
    report.problems.push(
      missing > 0
        ? `${meterNumber}: answered ${row.answered} reads, stored ${row.stored} (${missing} lost)`
        : `${meterNumber}: answered ${row.answered} reads, stored ${row.stored} (${-missing} more than answered)`,
    );
  }
  return report;
}

/**
 * Every read the simulator answered since `since` is stored exactly once (scheduled and on-demand
 * successful records), meter by meter. Waits up to settleMs for equality, then reports the differences.
 */
export async function everyAnswerStoredOnce(options: AnswersOptions): Promise<AnswersReport> {
  const started = Date.now();
  const settleMs = options.settleMs ?? 15_000;
  const ids = [...options.meters.values()];
  for (;;) {
    const report = await retrying(started + settleMs, async () =>
      compareAnswers(
        await simulatorCounters(options.simulator),
        await storedSuccessfulReads(options.db, ids, options.since),
        options,
      ),
    );
    // Lost-to-kill answers are tolerated at most one per meter the killed process was reading, so their
    // total never exceeds what it had in flight; a few more seconds let late (retried) stores count.
    const elapsed = Date.now() - started;
    const settled =
      report.problems.length === 0 && (report.lostToKill === 0 || elapsed > Math.min(3000, settleMs));
    if (settled || elapsed > settleMs) return report;
    await sleep(250);
  }
}

// ---------------------------------------------------------------------------------------------------------
// (b) at most one scheduled record per meter and tick; (b') every tick of a window stored once

export interface DuplicateTicksReport {
  duplicates: { meterId: string; tickAt: Date; records: number }[];
  /** Scheduled records (in the checked range) without tick_at: the database cannot refuse their duplicates. */
  withoutTick: number;
  problems: string[];
}

/** No (meter_id, tick_at) holds two records; and, unless allowed, every scheduled record has its tick_at. */
export async function noDuplicateTicks(
  db: Queryable,
  options: { meterIds?: readonly string[]; since?: Date; allowMissingTickAt?: boolean } = {},
): Promise<DuplicateTicksReport> {
  const meters = options.meterIds ? [...options.meterIds] : null;
  const since = options.since ?? new Date(0);
  const { rows } = await db.query<{ meter_id: string; tick_at: Date; n: number }>(
    `SELECT meter_id, tick_at, count(*)::int AS n FROM meter_reads
     WHERE tick_at IS NOT NULL AND ($1::uuid[] IS NULL OR meter_id = ANY($1::uuid[])) AND read_at >= $2
     GROUP BY meter_id, tick_at HAVING count(*) > 1 ORDER BY tick_at LIMIT 100`,
    [meters, since],
  );
  const untagged = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM meter_reads
     WHERE reading_type = 'scheduled' AND tick_at IS NULL AND ($1::uuid[] IS NULL OR meter_id = ANY($1::uuid[]))
       AND read_at >= $2`,
    [meters, since],
  );
  const report: DuplicateTicksReport = {
    duplicates: rows.map((r) => ({ meterId: r.meter_id, tickAt: r.tick_at, records: r.n })),
    withoutTick: untagged.rows[0].n,
    problems: rows.map(
      (r) => `meter ${r.meter_id}: ${r.n} scheduled records for tick ${r.tick_at.toISOString()}`,
    ),
  };
  if (report.withoutTick > 0 && !options.allowMissingTickAt) {
    report.problems.push(
      `${report.withoutTick} scheduled records without tick_at: nothing stops a second record of their tick`,
    );
  }
  return report;
}

/** When each meter's slot ticks within the interval (contracts' slot arithmetic, from meters.poll_bucket). */
export async function slotOffsets(
  db: Queryable,
  meterIds: readonly string[],
  intervalMs: number,
): Promise<Map<string, number>> {
  const slots = pollSlotCount(intervalMs);
  const { rows } = await db.query<{ id: string; poll_bucket: number }>(
    'SELECT id, poll_bucket FROM meters WHERE id = ANY($1::uuid[])',
    [[...meterIds]],
  );
  const offsets = new Map<string, number>();
  for (const r of rows) {
    for (let s = 0; s < slots; s++) {
      const { from, to } = slotBucketRange(s, slots);
      if (r.poll_bucket >= from && r.poll_bucket < to) offsets.set(r.id, slotOffsetMs(s, slots, intervalMs));
    }
  }
  return offsets;
}

export interface TicksReport {
  /** (meter, tick) pairs expected in the window. */
  expected: number;
  /** Of those, how many have exactly one stored scheduled record. */
  storedOnce: number;
  missing: { meterId: string; tickAt: Date }[];
  problems: string[];
}

/**
 * Every tick of every listed meter whose time falls in [from, to] has exactly one stored scheduled record
 * (a record belongs to the tick in its tick_at; a record without one, to the latest tick of its slot at or
 * before its read_at). For meters that answer all along: offline backoff legitimately skips ticks.
 */
export async function everyTickStoredOnce(
  db: Queryable,
  options: {
    meterIds: readonly string[];
    from: Date;
    to: Date;
    intervalMs: number;
    successfulOnly?: boolean;
  },
): Promise<TicksReport> {
  const { intervalMs } = options;
  const offsets = await slotOffsets(db, options.meterIds, intervalMs);
  const { rows } = await db.query<{ meter_id: string; read_at: Date; tick_at: Date | null; ok: boolean }>(
    `SELECT meter_id, read_at, tick_at, communication_status <> 'failed' AS ok FROM meter_reads
     WHERE meter_id = ANY($1::uuid[]) AND reading_type = 'scheduled' AND read_at >= $2 AND read_at < $3`,
    [
      [...options.meterIds],
      new Date(options.from.getTime() - intervalMs),
      new Date(options.to.getTime() + 2 * intervalMs),
    ],
  );
  const recordsOf = new Map<string, number>();
  const key = (meterId: string, tickAt: number) => `${meterId}@${tickAt}`;
  for (const r of rows) {
    if (options.successfulOnly && !r.ok) continue;
    const offset = offsets.get(r.meter_id) ?? 0;
    const tickAt = r.tick_at
      ? r.tick_at.getTime()
      : intervalIndex(r.read_at.getTime() - offset, intervalMs) * intervalMs + offset;
    recordsOf.set(key(r.meter_id, tickAt), (recordsOf.get(key(r.meter_id, tickAt)) ?? 0) + 1);
  }
  const report: TicksReport = { expected: 0, storedOnce: 0, missing: [], problems: [] };
  for (const meterId of options.meterIds) {
    const offset = offsets.get(meterId);
    if (offset === undefined) {
      report.problems.push(`meter ${meterId}: not found`);
      continue;
    }
    const first = intervalIndex(options.from.getTime() - offset - 1, intervalMs) + 1;
    for (let k = first; k * intervalMs + offset <= options.to.getTime(); k++) {
      const tickAt = k * intervalMs + offset;
      const n = recordsOf.get(key(meterId, tickAt)) ?? 0;
      report.expected++;
      if (n === 1) report.storedOnce++;
      else if (n === 0) report.missing.push({ meterId, tickAt: new Date(tickAt) });
      else
        report.problems.push(
          `meter ${meterId}: ${n} scheduled records for tick ${new Date(tickAt).toISOString()}`,
        );
    }
  }
  if (report.missing.length > 0) {
    const byTick = new Map<number, number>();
    for (const m of report.missing) byTick.set(m.tickAt.getTime(), (byTick.get(m.tickAt.getTime()) ?? 0) + 1);
    report.problems.push(
      `${report.missing.length} of ${report.expected} (meter, tick) pairs have no ${options.successfulOnly ? 'successful ' : ''}` +
        `scheduled record; meters missing per tick: ` +
        [...byTick].map(([t, n]) => `${new Date(t).toISOString()} ${n}`).join(', '),
    );
  }
  return report;
}

// ---------------------------------------------------------------------------------------------------------
// (c) polling resumed

export interface ResumeReport {
  /** Per meter, ms from `after` to the start of its first scheduled read (absent: none yet). */
  firstReadAfterMs: Map<string, number>;
  /** ms from `after` until every meter had been read again (null when some never were). */
  allReadAfterMs: number | null;
  /** ms from `after` to the first scheduled read started after it, of any meter. */
  firstAnyAfterMs: number | null;
  problems: string[];
}

/**
 * Every listed meter (pollable meters that answer) has a scheduled read started after `after` and within
 * `intervals` intervals of it. Waits for the stores to land (up to that bound plus settleMs).
 */
export async function pollingResumed(
  db: Queryable,
  options: {
    meterIds: readonly string[];
    after: Date;
    intervalMs: number;
    intervals: number;
    successfulOnly?: boolean;
    settleMs?: number;
  },
): Promise<ResumeReport> {
  const boundMs = options.intervals * options.intervalMs;
  const deadline = options.after.getTime() + boundMs + (options.settleMs ?? 10_000);
  let firsts = new Map<string, number>();
  for (;;) {
    const { rows } = await retrying(deadline, () =>
      db.query<{ meter_id: string; first: Date }>(
        `SELECT meter_id, min(read_at) AS first FROM meter_reads
         WHERE meter_id = ANY($1::uuid[]) AND reading_type = 'scheduled' AND read_at > $2
           AND ($3::boolean IS NOT TRUE OR communication_status <> 'failed')
         GROUP BY meter_id`,
        [[...options.meterIds], options.after, options.successfulOnly ?? false],
      ),
    );
    firsts = new Map(rows.map((r) => [r.meter_id, r.first.getTime() - options.after.getTime()]));
    if (firsts.size === options.meterIds.length || Date.now() > deadline) break;
    await sleep(250);
  }
  const late = options.meterIds.filter((id) => (firsts.get(id) ?? Infinity) > boundMs);
  const values = [...firsts.values()];
  return {
    firstReadAfterMs: firsts,
    allReadAfterMs: firsts.size === options.meterIds.length ? Math.max(...values) : null,
    firstAnyAfterMs: values.length ? Math.min(...values) : null,
    problems: late.length
      ? [
          `${late.length} of ${options.meterIds.length} meters not read within ${options.intervals} intervals ` +
            `(${boundMs} ms) after ${options.after.toISOString()}: ` +
            late
              .slice(0, 10)
              .map((id) => `${id} ${firsts.has(id) ? `after ${firsts.get(id)} ms` : 'never'}`)
              .join(', '),
        ]
      : [],
  };
}

// ---------------------------------------------------------------------------------------------------------
// (d) processes alive, clean output

/** Every process is still running (a dead one is reported with its exit and the end of its output). */
export function allAlive(processes: Readonly<Record<string, StartedProcess>>): { problems: string[] } {
  const problems: string[] = [];
  for (const [name, p] of Object.entries(processes)) {
    if (p.child.exitCode === null && p.child.signalCode === null) continue;
    problems.push(
      `${name} exited (code ${p.child.exitCode}, signal ${p.child.signalCode}); last output:\n` +
        p.output().slice(-1500),
    );
  }
  return { problems };
}

/** Lines of a process's output that belong to a JavaScript stack trace, or say an error went unhandled. */
export function crashLines(output: string): string[] {
  return output
    .split('\n')
    .filter(
      (line) => /^\s+at .+(:\d+:\d+\)?|\(native\)|\(<anonymous>\))$/.test(line) || /Unhandled/i.test(line),
    )
    .slice(0, 20);
}

// ---------------------------------------------------------------------------------------------------------
// A counting window judged at once: (a), (b) and (b')

export interface WindowOptions extends AnswersOptions {
  /** When polling resumed after the window opened (PollingPause.openWindow). */
  resumedAt: Date;
  /** When polling was paused to close it. */
  pausedAt: Date;
  intervalMs: number;
  /** The meters whose every tick of the window must have one successful record (meters that answer). */
  tickMeterIds: readonly string[];
  /** Duplicate ticks among these meters only (default: every meter's). */
  duplicatesOf?: readonly string[];
}

export interface WindowReport {
  answers: AnswersReport;
  ticks: TicksReport;
  duplicates: DuplicateTicksReport;
}

/**
 * A closed window (polling paused, nothing in flight): every answer stored once, every tick of the window
 * stored once, no tick twice.
 */
export async function judgeWindow(options: WindowOptions): Promise<WindowReport> {
  const answers = await everyAnswerStoredOnce(options);
  // Ticks that fell due while polling was paused may be dropped as stale: they do not count.
  const ticks = await everyTickStoredOnce(options.db, {
    meterIds: options.tickMeterIds,
    from: options.resumedAt,
    to: new Date(options.pausedAt.getTime() - options.intervalMs),
    intervalMs: options.intervalMs,
    successfulOnly: true,
  });
  const duplicates = await noDuplicateTicks(options.db, {
    meterIds: options.duplicatesOf,
    since: options.since,
  });
  return { answers, ticks, duplicates };
}

// ---------------------------------------------------------------------------------------------------------
// Quiescing polling, to open and close a counting window with nothing in flight

/**
 * Pauses the poll and command queues (BullMQ: workers take no new job, active ones run to the end) and
 * waits until no job is active, so that the simulator's counters and the stored reads can be compared.
 * Ticks that fall due meanwhile wait and are dropped as stale after resume().
 */
export class PollingPause {
  private constructor(private readonly queues: Queue[]) {}

  static connect(env: { REDIS_URL?: string; QUEUE_PREFIX?: string }): PollingPause {
    const redisUrl = env.REDIS_URL ?? process.env.REDIS_URL;
    if (!redisUrl) throw new Error('PollingPause: no REDIS_URL');
    const root = bullRootOptions(redisUrl, env.QUEUE_PREFIX ?? 'hes');
    const queues = [QUEUES.POLL, QUEUES.COMMAND].map((name) => {
      const q = new Queue(name, root);
      q.on('error', () => undefined); // a fault test may take Redis away; the next call reports it
      return q;
    });
    return new PollingPause(queues);
  }

  /** Pauses and waits (up to timeoutMs) for the active jobs to finish; returns how many are still active. */
  async pause(timeoutMs = 30_000): Promise<number> {
    await Promise.all(this.queues.map((q) => q.pause()));
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const counts = await retrying(deadline, () => Promise.all(this.queues.map((q) => q.getActiveCount())));
      const active = counts.reduce((a, b) => a + b);
      if (active === 0 || Date.now() > deadline) return active;
      await sleep(100);
    }
  }

  async resume(): Promise<void> {
    await Promise.all(this.queues.map((q) => q.resume()));
  }

  /**
   * Opens a counting window: pauses until nothing is in flight, resets the simulator's counters, resumes.
   * `since` is when the counters were reset; `resumedAt` when polling resumed (ticks that fell due
   * earlier waited in the paused queue).
   */
  async openWindow(simulator: string | { resetCounters(): void }): Promise<{ since: Date; resumedAt: Date }> {
    await this.pause();
    await resetSimulatorCounters(simulator);
    const since = new Date();
    await this.resume();
    return { since, resumedAt: new Date() };
  }

  /** The poll queue, for inspecting active batches. */
  get pollQueue(): Queue {
    return this.queues[0];
  }

  async close(): Promise<void> {
    await Promise.all(this.queues.map((q) => q.close()));
  }
}

/**
 * What a killed worker was reading: of the poll jobs active when it died (`getActive()` right after the
 * kill, the survivors' included), those BullMQ has since found stalled (stalledCounter > 0) or that are
 * still active; a job no longer there counts too, since we cannot tell. The survivors' jobs finish
 * normally and are left out.
 */
export async function killedWorkerReads(
  queue: Queue,
  activeAtKill: readonly Job[],
): Promise<KilledInFlight & { jobs: Job[] }> {
  const meterIds = new Set<string>();
  const jobs: Job[] = [];
  for (const job of activeAtKill) {
    const ids = (job.data as { meterIds?: unknown }).meterIds;
    if (!Array.isArray(ids)) continue;
    const now = await Job.fromId(queue, job.id!);
    const theirs = !now || now.stalledCounter > 0 || (await now.getState()) === 'active';
    if (!theirs) continue;
    jobs.push(job);
    for (const id of ids) meterIds.add(String(id));
  }
  return { meterIds, jobs };
}

// ---------------------------------------------------------------------------------------------------------
// Which process is talking to a meter right now (to kill a worker while it holds reads)

/** Local TCP port → socket inode, from /proc/net/tcp{,6} (loopback connections live in this namespace). */
function socketInodesByLocalPort(): Map<number, string> {
  const inodes = new Map<number, string>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      inodes.set(parseInt(f[1].split(':')[1], 16), f[9]);
    }
  }
  return inodes;
}

function socketInodesOf(pid: number): Set<string> {
  const inodes = new Set<string>();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) inodes.add(m[1]);
      } catch {
        // the descriptor closed meanwhile
      }
    }
  } catch {
    // the process is gone
  }
  return inodes;
}

/**
 * Meter requests the simulator (running in THIS process) has received and not answered yet, by the pid
 * of the process that sent them. Built on Node's public http diagnostics channels, so it sees every
 * request of the simulator's gateway without touching it; client ports are mapped to processes through
 * /proc (Linux). Meant for slow meters: a pending request is a read in flight.
 */
export class PendingMeterRequests {
  private readonly pending = new Map<ServerResponse, { port: number; since: number }>();
  private listeners = new Set<() => void>();
  private readonly onStart = (message: unknown) => {
    const { socket, response } = message as {
      request: IncomingMessage;
      response: ServerResponse;
      socket: Socket;
    };
    if (socket.localPort !== this.gatewayPort || socket.remotePort === undefined) return;
    this.pending.set(response, { port: socket.remotePort, since: Date.now() });
    response.once('close', () => this.pending.delete(response));
    for (const l of this.listeners) l();
  };

  constructor(private readonly gatewayPort: number) {
    subscribe('http.server.request.start', this.onStart);
  }

  close(): void {
    unsubscribe('http.server.request.start', this.onStart);
    this.listeners.clear();
  }

  /** Pending request count per pid, over the given processes. */
  byProcess(pids: readonly number[]): Map<number, number> {
    const ports = socketInodesByLocalPort();
    const owner = new Map<string, number>();
    for (const pid of pids) for (const inode of socketInodesOf(pid)) owner.set(inode, pid);
    const counts = new Map<number, number>(pids.map((p) => [p, 0]));
    for (const { port } of this.pending.values()) {
      const inode = ports.get(port);
      const pid = inode === undefined ? undefined : owner.get(inode);
      if (pid !== undefined) counts.set(pid, (counts.get(pid) ?? 0) + 1);
    }
    return counts;
  }

  /** The first of `workers` seen holding a meter read in flight (waitForProcessWithPending). */
  async waitForWorkerWithPending<P extends StartedProcess>(
    workers: readonly P[],
    timeoutMs: number,
  ): Promise<P> {
    const pid = await this.waitForProcessWithPending(
      workers.map((w) => w.child.pid!),
      1,
      timeoutMs,
    );
    return workers.find((w) => w.child.pid === pid)!;
  }

  /**
   * Resolves with the first of `pids` seen holding at least `atLeast` pending requests (checked as each
   * request arrives), or rejects after timeoutMs.
   */
  waitForProcessWithPending(pids: readonly number[], atLeast: number, timeoutMs: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const check = () => {
        for (const [pid, n] of this.byProcess(pids)) {
          if (n >= atLeast) {
            done();
            resolve(pid);
            return;
          }
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(
          new Error(
            `no process of ${pids.join(', ')} had ${atLeast} meter requests pending within ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      this.listeners.add(check);
    });
  }
}

// ---------------------------------------------------------------------------------------------------------
// A store failure injected once

/**
 * A trigger on meter_reads that raises on the first scheduled row inserted after arm(), once: the whole
 * store statement fails as a PostgreSQL error would. A sequence counts, not a flag row: the raise rolls
 * the failing statement back, and only nextval() survives a rollback.
 */
export class OnceStoreFailure {
  static readonly MESSAGE = 'injected store failure (fault test)';

  constructor(private readonly db: Queryable) {}

  async install(): Promise<void> {
    await this.db.query(`
      CREATE SEQUENCE IF NOT EXISTS fault_test_store_seq;
      SELECT setval('fault_test_store_seq', 1000000);
      CREATE OR REPLACE FUNCTION fault_test_store_failure() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.reading_type = 'scheduled' AND nextval('fault_test_store_seq') = 1 THEN
          RAISE EXCEPTION '${OnceStoreFailure.MESSAGE}';
        END IF;
        RETURN NULL;
      END $$;
      DROP TRIGGER IF EXISTS fault_test_store_failure ON meter_reads;
      CREATE TRIGGER fault_test_store_failure AFTER INSERT ON meter_reads
        FOR EACH ROW EXECUTE FUNCTION fault_test_store_failure();`);
  }

  /** The next scheduled insert fails. */
  async arm(): Promise<void> {
    await this.db.query(`SELECT setval('fault_test_store_seq', 1, false)`);
  }

  /** Whether the armed failure has been raised. */
  async fired(): Promise<boolean> {
    const { rows } = await this.db.query<{ last_value: string; is_called: boolean }>(
      `SELECT last_value, is_called FROM fault_test_store_seq`,
    );
    return rows[0].is_called && Number(rows[0].last_value) < 1000000;
  }

  async remove(): Promise<void> {
    await this.db.query(`
      DROP TRIGGER IF EXISTS fault_test_store_failure ON meter_reads;
      DROP FUNCTION IF EXISTS fault_test_store_failure();
      DROP SEQUENCE IF EXISTS fault_test_store_seq;`);
  }
}
