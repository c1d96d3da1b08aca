import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface ReceivedRequest {
  method: string;
  url: string;
  contentType: string | undefined;
  body: unknown;
}

export type MeterBehaviour = (req: IncomingMessage, res: ServerResponse, body: unknown) => void;

/**
 * A node:http server on 127.0.0.1 whose answer each test scripts. It counts TCP connections (to prove
 * keep-alive, connection bounds and that refused addresses were never contacted) and records requests.
 */
export class ScriptedMeter {
  readonly requests: ReceivedRequest[] = [];
  connections = 0;
  private behaviour: MeterBehaviour = (_req, res) => res.writeHead(500).end();
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly server: Server;

  private constructor() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          /* recorded as text */
        }
        this.requests.push({
          method: req.method ?? '',
          url: req.url ?? '',
          contentType: req.headers['content-type'],
          body,
        });
        this.behaviour(req, res, body);
      });
    });
    this.server.on('connection', (socket) => {
      this.connections++;
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  static async start(): Promise<ScriptedMeter> {
    const meter = new ScriptedMeter();
    await new Promise<void>((resolve) => meter.server.listen(0, '127.0.0.1', resolve));
    return meter;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  respond(behaviour: MeterBehaviour): void {
    this.behaviour = behaviour;
  }

  json(status: number, body: unknown): void {
    this.respond((_req, res) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body)),
    );
  }

  /** A timer cleared when the meter stops, so scripted slow answers never outlive a test. */
  every(ms: number, fn: () => void): NodeJS.Timeout {
    const timer = setInterval(fn, ms);
    this.timers.add(timer);
    return timer;
  }

  after(ms: number, fn: () => void): void {
    const timer = setTimeout(fn, ms);
    this.timers.add(timer);
  }

  /** Drops every open connection (between tests) without stopping the server. */
  dropConnections(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const s of this.sockets) s.destroy();
  }

  async stop(): Promise<void> {
    this.dropConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A loopback port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
