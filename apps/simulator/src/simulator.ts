/**
 * startSimulator: builds the fleet, opens the gateway listener, the per-meter listeners and the control
 * API, and returns the manifest, the URLs, an in-process control handle and stop().
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import * as net from 'node:net';
import { endpointFor, expandAddresses, isLoopback } from './addresses';
import { createControlServer } from './control-server';
import { assignFaults, FaultMode, isFaultMode } from './faults';
import { Fleet } from './fleet';
import { DEFAULT_PROFILE_PERIOD_SEC } from './load-profile';
import { MeterStore, nowMs, ResponseFormat, SimMeter } from './meter-model';
import { prng } from './prng';
import { MeterPusher } from './pusher';
import { createProtocolHandler, METER_SOCKET, MeterSocket, valueJson } from './protocol-server';
import { REGISTERS, S_AT, SNAPSHOT_SIZE } from './registers';
import type {
  CounterSnapshot,
  ListOptions,
  ManifestEntry,
  MeterDetail,
  MeterSummary,
  RegisterValue,
  RunningSimulator,
  SetFaultOptions,
  SimulatorControl,
  SimulatorOptions,
} from './types';

const LISTEN_BATCH = 256;

/** Soft limit of open files from /proc (Linux); null when unknown. */
export function openFileLimit(): number | null {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const soft = line?.split(/\s{2,}/)[1];
    return soft === undefined || soft === 'unlimited' ? null : Number(soft);
  } catch {
    return null;
  }
}

function listen(server: net.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => {
      server.off('listening', onListening);
      reject(new Error(`cannot listen on ${host}:${port}: ${err.message}`));
    };
    const onListening = () => {
      server.off('error', onError);
      resolve((server.address() as net.AddressInfo).port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ port, host, backlog: 511 });
  });
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
  });
}

function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

export async function startSimulator(options: SimulatorOptions = {}): Promise<RunningSimulator> {
  const count = options.meters ?? 10;
  const host = options.host ?? '127.0.0.1';
  const seed = options.seed ?? 42;
  const prefix = options.prefix ?? 'SIM';
  const formatOption = options.format ?? 'mixed';
  const slowMs = options.slowMs ?? 3000;
  const flappingEvery = options.flappingEvery ?? 5;
  const log = options.log ?? ((line: string) => console.warn(line));
  if (!Number.isInteger(count) || count < 1)
    throw new Error(`meters must be a positive integer, got ${count}`);
  if (!['array', 'object', 'mixed'].includes(formatOption)) throw new Error(`unknown format ${formatOption}`);
  if (!(slowMs >= 0)) throw new Error(`slowMs must be >= 0`);
  if (!Number.isInteger(flappingEvery) || flappingEvery < 1) throw new Error(`flappingEvery must be >= 1`);
  const profilePeriodSec = options.profilePeriodSec ?? DEFAULT_PROFILE_PERIOD_SEC;
  if (!Number.isInteger(profilePeriodSec) || profilePeriodSec < 1 || profilePeriodSec > 86_400) {
    throw new Error('profilePeriodSec must be a whole number of seconds between 1 and 86400');
  }

  const faults = assignFaults(count, options.faults ?? {}, seed);
  const gatewayPort = options.port ?? 0;
  const dedicated = options.addresses !== undefined || options.meterPort !== undefined;
  const meterPort = options.meterPort ?? gatewayPort;
  const sharesGatewayPort = meterPort !== 0 && meterPort === gatewayPort;
  if (dedicated && options.addresses === undefined && sharesGatewayPort) {
    throw new Error('meterPort must differ from the gateway port when meters listen on the gateway host');
  }
  const addresses = !dedicated
    ? []
    : options.addresses !== undefined
      ? expandAddresses(options.addresses, count, sharesGatewayPort ? [host] : [])
      : [host];
  const limit = openFileLimit();
  if (dedicated && limit !== null) {
    if (count + 64 > limit) {
      throw new Error(
        `${count} per-meter listeners need more than the ${limit} open files allowed (ulimit -n); ` +
          'raise the limit or use meterNumber (gateway) addressing',
      );
    }
    if (count * 2 > limit) {
      log(
        `warning: ${count} listeners leave ${limit - count} file descriptors (ulimit -n ${limit}) for ` +
          'connections; clients keeping many idle keep-alive connections open may exhaust them',
      );
    }
  }

  const startedAt = nowMs();
  const formatRnd = prng(seed ^ 0xf0a7);
  const width = Math.max(6, String(count).length);
  const meters: SimMeter[] = new Array<SimMeter>(count);
  const store = new MeterStore(count);
  for (let i = 0; i < count; i++) {
    const format: ResponseFormat =
      formatOption === 'mixed' ? (formatRnd() < 0.5 ? 'array' : 'object') : formatOption;
    const ep = dedicated ? endpointFor(i, addresses, meterPort) : { ipAddress: host, port: gatewayPort };
    const m = new SimMeter({
      index: i,
      meterNumber: `${prefix}-${String(i + 1).padStart(width, '0')}`,
      seed,
      format,
      energyUnit: options.energyUnit ?? 'Wh',
      noiseIntervalMs: options.noiseIntervalMs ?? 1000,
      ipAddress: ep.ipAddress,
      port: ep.port,
      dedicated,
      startedAt,
      store,
    });
    m.fault = faults[i];
    if (m.fault === 'power-off') m.setPowered(false, startedAt);
    m.slowMs = slowMs;
    m.flappingEvery = flappingEvery;
    meters[i] = m;
  }
  const fleet = new Fleet(meters, profilePeriodSec * 1000);

  const httpServer: Server = createServer({ keepAliveTimeout: 5000 }, createProtocolHandler(fleet));
  // Blackholed requests must stay unanswered for as long as the client waits.
  httpServer.requestTimeout = 0;
  httpServer.headersTimeout = 60_000;
  httpServer.on('clientError', (_err, socket) => socket.destroy());

  const listeners: (net.Server | undefined)[] = new Array(count);
  const meterSockets: (Set<net.Socket> | undefined)[] = new Array(count);
  let reportedListenError = false;

  const makeListener = (m: SimMeter) => {
    // Same as http.createServer does for its own listener: without it Nagle + delayed ACK stall answers.
    const server = net.createServer({ noDelay: true }, (socket: MeterSocket) => {
      socket[METER_SOCKET] = m;
      let set = meterSockets[m.index];
      if (set === undefined) set = meterSockets[m.index] = new Set();
      set.add(socket);
      socket.once('close', () => set.delete(socket));
      httpServer.emit('connection', socket);
    });
    server.on('error', (err) => {
      if (!reportedListenError) log(`simulator: listener of ${m.meterNumber}: ${err.message}`);
      reportedListenError = true;
    });
    listeners[m.index] = server;
    return server;
  };

  const openListener = async (m: SimMeter) => {
    const server = listeners[m.index] ?? makeListener(m);
    if (!server.listening) m.port = await listen(server, m.port, m.ipAddress);
  };
  const closeListener = async (m: SimMeter) => {
    const server = listeners[m.index];
    const closing = server ? closeServer(server) : Promise.resolve();
    for (const s of meterSockets[m.index] ?? []) s.destroy();
    await closing;
  };

  const stopAll = async () => {
    for (const t of fleet.timers) clearTimeout(t);
    fleet.timers.clear();
    const closing = [httpServer, ...listeners].map((s) => (s ? closeServer(s) : Promise.resolve()));
    httpServer.closeAllConnections();
    await Promise.all(closing);
  };

  let controlServer: Server | undefined;
  try {
    const boundGatewayPort = await listen(httpServer, gatewayPort, host);
    const unspecified = host === '0.0.0.0' || host === '::';
    const gatewayIp = unspecified ? '127.0.0.1' : host;
    if (!dedicated) {
      for (const m of meters) {
        m.ipAddress = gatewayIp;
        m.port = boundGatewayPort;
      }
    } else {
      // Dead meters listen once too, so an ephemeral port is known; then they close (connection refused).
      for (let i = 0; i < count; i += LISTEN_BATCH) {
        await Promise.all(meters.slice(i, i + LISTEN_BATCH).map(openListener));
      }
      await Promise.all(meters.filter((m) => !answersConnections(m.fault)).map(closeListener));
    }
    const gatewayUrl = `http://${urlHost(gatewayIp)}:${boundGatewayPort}`;

    const manifest: ManifestEntry[] = meters.map(manifestEntry);
    const pusher = options.push
      ? new MeterPusher(
          options.push.url.replace(/\/+$/, ''),
          options.push.intervalMs,
          meters,
          options.push.secrets,
        )
      : undefined;
    const control = createControl(fleet, { openListener, closeListener }, pusher);
    controlServer = createControlServer(control, { gatewayUrl, manifest });
    const controlPort = await listen(controlServer, options.controlPort ?? 0, '127.0.0.1');
    const controlUrl = `http://127.0.0.1:${controlPort}`;
    if (options.manifestPath) writeFileSync(options.manifestPath, JSON.stringify(manifest, null, 1) + '\n');
    if (!isLoopback(host) && !unspecified) log(`simulator: gateway listens on non-loopback ${host}`);

    pusher?.start();
    let stopped: Promise<void> | undefined;
    const cs = controlServer;
    return {
      meters: manifest,
      gatewayUrl,
      controlUrl,
      control,
      stop: () => {
        stopped ??= (async () => {
          pusher?.stop();
          cs.closeAllConnections();
          await Promise.all([closeServer(cs), stopAll()]);
        })();
        return stopped;
      },
    };
  } catch (err) {
    controlServer?.close();
    await stopAll();
    throw err;
  }
}

/** Whether a meter in this fault mode accepts connections on its own listener (dead and powered-off do not). */
function answersConnections(mode: FaultMode): boolean {
  return mode !== 'dead' && mode !== 'power-off';
}

function manifestEntry(m: SimMeter): ManifestEntry {
  const e: ManifestEntry = {
    meterNumber: m.meterNumber,
    ipAddress: m.ipAddress,
    port: m.port,
    format: m.format,
    fault: m.fault,
  };
  if (m.fault === 'slow') e.slowMs = m.slowMs;
  if (m.fault === 'flapping') e.flappingEvery = m.flappingEvery;
  return e;
}

function summary(m: SimMeter, listening: boolean): MeterSummary {
  return {
    ...manifestEntry(m),
    dedicated: m.dedicated,
    listening,
    connected: m.connected,
    reads: m.reads,
    writes: m.writes,
    answered: m.answered,
    lastReadAt: m.lastReadAt ? Math.round(m.lastReadAt) : null,
  };
}

function registerValues(m: SimMeter, snap: Float64Array): Record<string, RegisterValue> {
  const out: Record<string, RegisterValue> = {};
  REGISTERS.forEach((def, reg) => {
    const unit = m.profile.unit[reg];
    const scaler = m.profile.scaler[reg];
    if (def.kind === 'number') {
      const value = snap[def.slot];
      out[def.code] = { value, unit, scaler, physical: value / m.profile.divisor[reg] };
    } else {
      const value = JSON.parse(valueJson(m, reg, snap, true)) as string;
      out[def.code] = { value, unit, scaler, physical: value };
    }
  });
  return out;
}

interface ListenerOps {
  openListener(m: SimMeter): Promise<void>;
  closeListener(m: SimMeter): Promise<void>;
}

function createControl(fleet: Fleet, ops: ListenerOps, pusher?: MeterPusher): SimulatorControl {
  const listening = (m: SimMeter) => !m.dedicated || answersConnections(m.fault);
  const find = (n: string) => fleet.byNumber.get(n);

  const applyFault = async (m: SimMeter, mode: FaultMode, opt: SetFaultOptions) => {
    if (!isFaultMode(mode)) throw new Error(`unknown fault mode ${String(mode)}`);
    if (opt.slowMs !== undefined) {
      if (!(Number.isFinite(opt.slowMs) && opt.slowMs >= 0)) throw new Error('slowMs must be >= 0');
      m.slowMs = opt.slowMs;
    }
    if (opt.flappingEvery !== undefined) {
      if (!(Number.isInteger(opt.flappingEvery) && opt.flappingEvery >= 1)) {
        throw new Error('flappingEvery must be a positive integer');
      }
      m.flappingEvery = opt.flappingEvery;
    }
    const was = m.fault;
    // The last gasp goes out before the meter falls silent; power-restored once it answers again.
    if (pusher && mode === 'power-off' && was !== 'power-off') await pusher.alarm(m, 'power-failure');
    m.fault = mode;
    if (pusher && was === 'power-off' && mode !== 'power-off') void pusher.alarm(m, 'power-restored');
    if (mode === 'flapping' && was !== 'flapping') m.flapCount = 0;
    m.setPowered(mode !== 'power-off', nowMs());
    if (m.dedicated && !answersConnections(mode) && answersConnections(was)) await ops.closeListener(m);
    if (m.dedicated && answersConnections(mode) && !answersConnections(was)) await ops.openListener(m);
  };

  return {
    listMeters(o: ListOptions = {}) {
      const all = o.fault ? fleet.meters.filter((m) => m.fault === o.fault) : fleet.meters;
      const offset = o.offset ?? 0;
      const limit = o.limit ?? 10_000;
      return {
        total: all.length,
        meters: all.slice(offset, offset + limit).map((m) => summary(m, listening(m))),
      };
    },
    getMeter(n) {
      const m = find(n);
      return m && summary(m, listening(m));
    },
    meterState(n): MeterDetail | undefined {
      const m = find(n);
      if (!m) return undefined;
      const snap = new Float64Array(SNAPSHOT_SIZE);
      const t = nowMs();
      m.snapshot(t, snap);
      const served = m.lastServed();
      return {
        ...summary(m, listening(m)),
        thresholdW: m.thresholdW,
        recentReads: m.recentReadTimes(),
        valuesAt: Math.round(t),
        values: registerValues(m, snap),
        lastServed: served && { at: Math.round(served[S_AT]), values: registerValues(m, served) },
      };
    },
    async setFault(n, mode, opt = {}) {
      const m = find(n);
      if (!m) throw new Error(`unknown meter ${n}`);
      await applyFault(m, mode, opt);
      return summary(m, listening(m));
    },
    async setFaults(mode, meterNumbers, opt = {}) {
      const targets = meterNumbers ? meterNumbers.map((n) => find(n)) : fleet.meters;
      const missing = meterNumbers?.filter((_, i) => targets[i] === undefined) ?? [];
      if (missing.length) throw new Error(`unknown meters: ${missing.slice(0, 5).join(', ')}`);
      await Promise.all((targets as SimMeter[]).map((m) => applyFault(m, mode, opt)));
      return targets.length;
    },
    counters(o = {}): CounterSnapshot {
      const perMeter: CounterSnapshot['meters'] = {};
      for (const m of fleet.meters) {
        if (m.reads === 0 && m.writes === 0) continue;
        perMeter[m.meterNumber] = {
          reads: m.reads,
          writes: m.writes,
          answered: m.answered,
          lastReadAt: m.lastReadAt ? Math.round(m.lastReadAt) : null,
          ...(o.recentReads ? { recentReads: m.recentReadTimes() } : {}),
        };
      }
      return {
        at: Date.now(),
        totals: { ...fleet.totals },
        byFault: JSON.parse(JSON.stringify(fleet.byFault)) as CounterSnapshot['byFault'],
        meters: perMeter,
      };
    },
    resetCounters() {
      fleet.resetCounters();
    },
    setClock(n, o) {
      const m = find(n);
      if (!m) throw new Error(`unknown meter ${n}`);
      if (!Number.isFinite(o.offsetMs ?? 0) || Math.abs(o.offsetMs ?? 0) > 10 * 365 * 86_400_000) {
        throw new Error('offsetMs must be a number of ms within ten years');
      }
      if (!Number.isFinite(o.driftPpm ?? 0) || Math.abs(o.driftPpm ?? 0) > 1_000_000) {
        throw new Error('driftPpm must be between -1e6 and 1e6');
      }
      const t = nowMs();
      m.setClock(t + (o.offsetMs ?? 0), t, o.driftPpm ?? 0);
      return {
        clock: new Date(m.clockAt(t)).toISOString(),
        offsetMs: o.offsetMs ?? 0,
        driftPpm: m.clockDriftPpm,
      };
    },
    setPushSecret(n, secret) {
      if (!pusher) throw new Error('this fleet does not push (start it with --push <url>)');
      if (!find(n)) throw new Error(`unknown meter ${n}`);
      pusher.setSecret(n, secret);
    },
    async raiseAlarm(n, alarm, details) {
      const m = find(n);
      if (!m) throw new Error(`unknown meter ${n}`);
      if (!pusher) throw new Error('this fleet does not push (start it with --push <url>)');
      return pusher.alarm(m, alarm, details);
    },
    pushCounters() {
      return pusher ? { ...pusher.counters } : null;
    },
  };
}
