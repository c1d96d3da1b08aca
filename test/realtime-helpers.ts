/**
 * Socket.IO client helpers for the realtime suites and the benchmark (real socket.io-client, loopback).
 */
import { MeterAlarmEvent, MeterReadingUpdateEvent, MeterStatusChangeEvent, WS_EVENTS } from '@app/contracts';
import Redis from 'ioredis';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, connect as tcpConnect, type Server, type Socket as TcpSocket } from 'node:net';
import { io, Socket } from 'socket.io-client';

export interface RoomAck {
  success: boolean;
  message?: string;
  room?: string;
}

export interface ClientOptions {
  token?: string;
  headers?: Record<string, string>;
  transports?: ('websocket' | 'polling')[];
}

function clientFor(baseUrl: string, opts: ClientOptions): Socket {
  return io(baseUrl, {
    auth: opts.token !== undefined ? { token: opts.token } : undefined,
    extraHeaders: opts.headers,
    transports: opts.transports ?? ['websocket'],
    reconnection: false,
    forceNew: true,
    timeout: 10_000,
  });
}

/** Connects and resolves once connected; rejects with the server's connect_error. */
export function connectClient(baseUrl: string, opts: ClientOptions = {}): Promise<Socket> {
  const socket = clientFor(baseUrl, opts);
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (err) => {
      socket.close();
      reject(err);
    });
  });
}

/** The connect_error a refused handshake produces (fails if the connection is accepted). */
export function connectRefusal(
  baseUrl: string,
  opts: ClientOptions = {},
): Promise<Error & { data?: { message?: string } }> {
  const socket = clientFor(baseUrl, opts);
  return new Promise((resolve, reject) => {
    socket.once('connect', () => {
      socket.close();
      reject(new Error('connection was accepted'));
    });
    socket.once('connect_error', (err) => {
      socket.close();
      resolve(err as Error & { data?: { message?: string } });
    });
  });
}

export async function emitWithAck(socket: Socket, event: string, payload: unknown): Promise<RoomAck> {
  return (await socket.timeout(10_000).emitWithAck(event, payload)) as RoomAck;
}

export async function joinRoom(socket: Socket, room: string): Promise<RoomAck> {
  return emitWithAck(socket, WS_EVENTS.JOIN_ROOM, { room });
}

export interface Received<T> {
  event: T;
  receivedAt: number;
  /** Arrival order among every event this recorder got (readings and status changes together). */
  seq: number;
}

/** Records every reading update and status change a client receives, in arrival order. */
export class EventRecorder {
  readonly readings: Received<MeterReadingUpdateEvent>[] = [];
  readonly statuses: Received<MeterStatusChangeEvent>[] = [];
  readonly alarms: MeterAlarmEvent[] = [];
  private waiters = new Set<() => void>();
  private received = 0;

  constructor(readonly socket: Socket) {
    socket.on(WS_EVENTS.READING_UPDATE, (event: MeterReadingUpdateEvent) => {
      this.readings.push({ event, receivedAt: Date.now(), seq: ++this.received });
      this.notify();
    });
    socket.on(WS_EVENTS.STATUS_CHANGE, (event: MeterStatusChangeEvent) => {
      this.statuses.push({ event, receivedAt: Date.now(), seq: ++this.received });
      this.notify();
    });
    socket.on(WS_EVENTS.ALARM, (event: MeterAlarmEvent) => {
      this.alarms.push(event);
      this.notify();
    });
  }

  readingsOf(meterId: string): MeterReadingUpdateEvent[] {
    return this.readings.filter((r) => r.event.meterId === meterId).map((r) => r.event);
  }

  statusesOf(meterId: string): MeterStatusChangeEvent[] {
    return this.statuses.filter((r) => r.event.meterId === meterId).map((r) => r.event);
  }

  /** Resolves when `condition` holds (checked on every event), rejects after timeoutMs. */
  waitFor(condition: () => boolean, timeoutMs: number, what = 'condition'): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!condition()) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(
          new Error(
            `${what} not met within ${timeoutMs} ms (readings=${this.readings.length}, statuses=${this.statuses.length})`,
          ),
        );
      }, timeoutMs);
      this.waiters.add(check);
    });
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns a value that is not undefined (or throws after timeoutMs). */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    await sleep(100);
  }
  throw new Error(`${what} not reached within ${timeoutMs} ms${last ? `: ${(last as Error).message}` : ''}`);
}

/**
 * A TCP hop between clients and an api instance, like a load balancer or a network path: `cut()` drops
 * every connection through it (the peers see their TCP connections close, not a Socket.IO disconnect) and
 * refuses new ones until `restore()`, which may send them to another instance.
 */
export class NetworkPath {
  private down = false;
  private readonly open = new Set<TcpSocket>();

  private constructor(
    private readonly server: Server,
    private targetPort: number,
  ) {
    server.on('connection', (client) => {
      if (this.down) return void client.destroy();
      const upstream = tcpConnect(this.targetPort, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.open.add(s);
        s.on('close', () => this.open.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
  }

  static async to(baseUrl: string): Promise<NetworkPath> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return new NetworkPath(server, Number(new URL(baseUrl).port));
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }

  cut(): void {
    this.down = true;
    for (const s of this.open) s.destroy();
  }

  restore(toBaseUrl?: string): void {
    if (toBaseUrl) this.targetPort = Number(new URL(toBaseUrl).port);
    this.down = false;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/**
 * A client as a browser app would run it: it reconnects by itself (every ~0.5 s here) and, with
 * connection state recovery, resumes from the last event it got. Resolves once connected.
 */
export function connectReconnectingClient(baseUrl: string, token: string): Promise<Socket> {
  const socket = io(baseUrl, {
    auth: { token },
    transports: ['websocket'],
    forceNew: true,
    reconnection: true,
    reconnectionDelay: 300,
    reconnectionDelayMax: 500,
    randomizationFactor: 0,
    timeout: 10_000,
  });
  return new Promise((resolve, reject) => {
    const refused = (err: Error) => {
      socket.close();
      reject(err);
    };
    socket.once('connect', () => {
      socket.off('connect_error', refused); // later ones are its reconnection attempts
      resolve(socket);
    });
    socket.once('connect_error', refused);
  });
}

/** The next (re)connection of a socket: resolves with `socket.recovered`, rejects with a connect_error. */
export function nextConnection(socket: Socket, timeoutMs = 20_000): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no reconnection within ${timeoutMs} ms`));
    }, timeoutMs);
    const onConnect = () => {
      cleanup();
      resolve(socket.recovered);
    };
    const onError = (err: Error) => {
      // refused by the server (a middleware error), not a transport that failed to open: that is final
      if (socket.active) return;
      cleanup();
      reject(err);
    };
    const cleanup = () => {
      clearTimeout(timer);
      socket.off('connect', onConnect);
      socket.off('connect_error', onError);
    };
    socket.on('connect', onConnect);
    socket.on('connect_error', onError);
  });
}

/**
 * A throwaway redis-server (no persistence) on its own port, that a test may stop and start again (the
 * shared Redis is never stopped).
 */
export async function dedicatedRedis(): Promise<{
  url: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}> {
  const port = await new Promise<number>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
  const url = `redis://127.0.0.1:${port}/0`;
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        stdio: 'ignore',
      },
    );
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    const deadline = Date.now() + 10_000;
    const answers = () =>
      probe.connect().then(
        () => true,
        () => false,
      );
    while (!(await answers())) {
      if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not start`);
      await sleep(50);
    }
    probe.disconnect();
  };
  const stop = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGKILL');
    await exited;
  };
  await start();
  return { url, start, stop };
}
