/**
 * Live-update latency benchmark (issue 5, test 6's figure): a simulator fleet polled by a real worker
 * process, two api instances (one in-process, one a child process), Socket.IO clients spread over meter
 * rooms on both. Loopback only; its own PostgreSQL database and Redis logical db (as a jest run gets).
 *
 *   npm run bench:realtime
 *   BENCH_METERS=1000 BENCH_INTERVAL_MS=5000 BENCH_CLIENTS=50 BENCH_ROOMS=20 BENCH_SECONDS=30 npm run bench:realtime
 *
 * Two figures, each p50/p95/p99/max over every (client, event) delivery:
 * - poll→client: client receive time − the event's `timestamp` (when the worker started reading the
 *   meter). It includes the meter's answer, the wait for the rest of the batch, the batched store in
 *   PostgreSQL, then Redis and Socket.IO — what a dashboard user sees.
 * - publish→client: probe events published through the worker's MeterEventsPublisher (in this process)
 *   while the fleet is being polled: the Redis stream, the api's adapter and Socket.IO only.
 * Everything shares one machine with the fleet's polling, so the figures are indicative (noisy on a
 * loaded 2-core machine); run it a few times.
 */
import { MeterReadingUpdateEvent, ROOMS, WS_EVENTS } from '@app/contracts';
import type { Socket } from 'socket.io-client';
import { MeterEventsPublisher } from '@app/realtime-publisher';
import globalSetup from '../libs/testing/src/global-setup';
import globalTeardown from '../libs/testing/src/global-teardown';
import { connectClient, EventRecorder, joinRoom, sleep } from '../test/realtime-helpers';
import {
  realtimeStats,
  registerSimulatedMeters,
  startRealtimeStack,
  startTestPublisher,
} from '../test/realtime-stack';

const num = (name: string, fallback: number, max: number) => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value < 1 || value > max) throw new Error(`${name} must be 1..${max}`);
  return Math.floor(value);
};

const METERS = num('BENCH_METERS', 1000, 20_000);
const INTERVAL_MS = num('BENCH_INTERVAL_MS', 5000, 600_000);
const CLIENTS = num('BENCH_CLIENTS', 50, 1000);
const ROOMS_COUNT = Math.min(num('BENCH_ROOMS', 20, 5000), METERS);
const SECONDS = num('BENCH_SECONDS', 30, 600);
const PROBES_PER_SECOND = num('BENCH_PROBES_PER_SECOND', 50, 5000);
const PROBE_SECONDS = num('BENCH_PROBE_SECONDS', 10, 120);
const PROBE_NUMBER = 'BENCH-PROBE';

function summary(samples: number[]): string {
  if (samples.length === 0) return 'no samples';
  const s = [...samples].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))].toFixed(1);
  return `n=${s.length} p50=${at(0.5)} ms p95=${at(0.95)} ms p99=${at(0.99)} ms max=${s[s.length - 1].toFixed(1)} ms`;
}

async function main(): Promise<void> {
  await globalSetup();
  process.env.NODE_ENV = 'test';
  const stack = await startRealtimeStack({
    sim: { meters: METERS, format: 'mixed', seed: 71, prefix: 'BRT' },
    intervalMs: INTERVAL_MS,
    queuePrefix: 'hes-bench-rt',
    env: { METER_TIMEOUT_MS: '3000' },
  });
  const sockets: Socket[] = [];
  let publisher: MeterEventsPublisher | undefined;
  try {
    const meterIds = await registerSimulatedMeters(stack);
    const rooms = Array.from(
      { length: ROOMS_COUNT },
      (_, i) => meterIds[Math.floor((i * METERS) / ROOMS_COUNT)],
    );
    const recorders: EventRecorder[] = [];
    for (let i = 0; i < CLIENTS; i++) {
      const socket = await connectClient(i % 2 === 0 ? stack.apiA.baseUrl : stack.apiB.baseUrl, {
        token: stack.admin,
      });
      sockets.push(socket);
      const ack = await joinRoom(socket, ROOMS.meter(rooms[i % ROOMS_COUNT]));
      if (!ack.success) throw new Error(`join-room: ${ack.message}`);
      recorders.push(new EventRecorder(socket));
    }
    console.log(
      `fleet ${METERS} meters every ${INTERVAL_MS} ms; ${CLIENTS} clients over ${ROOMS_COUNT} meter rooms on 2 api ` +
        `instances; warming up one interval…`,
    );
    await sleep(INTERVAL_MS + 2000);

    // Phase 1: poll→client while the fleet is polled.
    const start = Date.now();
    await sleep(SECONDS * 1000);
    const end = Date.now();
    await sleep(4000); // let reads started before `end` arrive
    const pollLatency: number[] = [];
    const perEvent = (r: { event: MeterReadingUpdateEvent; receivedAt: number }) => {
      const t = Date.parse(r.event.timestamp);
      return r.event.meterNumber !== PROBE_NUMBER && t >= start && t < end ? r.receivedAt - t : undefined;
    };
    for (const rec of recorders) {
      for (const r of rec.readings) {
        const latency = perEvent(r);
        if (latency !== undefined) pollLatency.push(latency);
      }
    }
    const { rows } = await stack.db.query<{ n: number; rt: number }>(
      `select count(*)::int as n, coalesce(percentile_cont(0.5) within group (order by response_time_ms), 0) as rt
       from meter_reads where meter_id = any($1::uuid[]) and read_at >= $2 and read_at < $3`,
      [meterIds, new Date(start), new Date(end)],
    );

    // Phase 2: publish→client probes, fleet still polled.
    publisher = await startTestPublisher(stack.env.QUEUE_PREFIX);
    const probeLatency: number[] = [];
    for (const rec of recorders) {
      rec.socket.on(WS_EVENTS.READING_UPDATE, (event: MeterReadingUpdateEvent) => {
        if (event.meterNumber === PROBE_NUMBER) probeLatency.push(Date.now() - Date.parse(event.timestamp));
      });
    }
    const probeCount = PROBES_PER_SECOND * PROBE_SECONDS;
    for (let i = 0; i < probeCount; i++) {
      const meterId = rooms[i % ROOMS_COUNT];
      publisher.readingUpdated(
        {
          meterId,
          meterNumber: PROBE_NUMBER,
          readingType: 'on-demand',
          communicationStatus: 'success',
          readings: [],
          responseTime: 0,
          timestamp: new Date().toISOString(),
        },
        stack.areaId,
      );
      await sleep(1000 / PROBES_PER_SECOND);
    }
    await sleep(2000);
    const clientsPerRoom = rooms.map((_, r) => recorders.filter((_, i) => i % ROOMS_COUNT === r).length);
    const expectedProbes = Array.from(
      { length: probeCount },
      (_, i) => clientsPerRoom[i % ROOMS_COUNT],
    ).reduce((a, b) => a + b, 0);
    const [statsA, statsB] = await Promise.all(
      [stack.apiA.baseUrl, stack.apiB.baseUrl].map((u) => realtimeStats(u, stack.admin)),
    );

    console.log(
      `\nreads stored in the ${SECONDS} s window: ${rows[0].n} (median meter response ${rows[0].rt} ms)`,
    );
    console.log(`poll→client     ${summary(pollLatency)}`);
    console.log(
      `publish→client  ${summary(probeLatency)} (${PROBES_PER_SECOND}/s probes; ` +
        `${probeLatency.length}/${expectedProbes} deliveries received)`,
    );
    console.log(
      `api A: accepted ${statsA.accepted}, lost ${statsA.lost}, duplicates ${statsA.duplicates}; ` +
        `api B: accepted ${statsB.accepted}, lost ${statsB.lost}, duplicates ${statsB.duplicates}`,
    );
  } finally {
    for (const s of sockets) s.close();
    await publisher?.onApplicationShutdown();
    await stack.stop();
    await globalTeardown();
  }
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    console.error(err.stack ?? err.message);
    process.exit(1);
  },
);
