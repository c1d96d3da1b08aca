/**
 * Socket.IO client helpers for the realtime suites and the benchmark (real socket.io-client, loopback).
 */
import { MeterReadingUpdateEvent, MeterStatusChangeEvent, WS_EVENTS } from '@app/contracts';
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
}

/** Records every reading update and status change a client receives, in arrival order. */
export class EventRecorder {
  readonly readings: Received<MeterReadingUpdateEvent>[] = [];
  readonly statuses: Received<MeterStatusChangeEvent>[] = [];
  private waiters = new Set<() => void>();

  constructor(readonly socket: Socket) {
    socket.on(WS_EVENTS.READING_UPDATE, (event: MeterReadingUpdateEvent) => {
      this.readings.push({ event, receivedAt: Date.now() });
      this.notify();
    });
    socket.on(WS_EVENTS.STATUS_CHANGE, (event: MeterStatusChangeEvent) => {
      this.statuses.push({ event, receivedAt: Date.now() });
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
