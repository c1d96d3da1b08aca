// The implicit string-to-number conversion reads design:type, which is only recorded when the polyfill is
// loaded before these classes are declared, whatever the entry point imports first.
import 'reflect-metadata';
import { isIP } from 'node:net';
import { Transform } from 'class-transformer';
import { IsIn, IsInt, IsNotEmpty, IsOptional, IsString, Matches, Max, Min, MinLength } from 'class-validator';

export const NODE_ENVS = ['development', 'test', 'production'] as const;
export type NodeEnv = (typeof NODE_ENVS)[number];

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
export const CLOCK_SYNC_MODES = ['off', 'auto'] as const;
export type ClockSyncMode = (typeof CLOCK_SYNC_MODES)[number];

export const DEFAULT_ALLOWED_NETWORKS = '10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,100.64.0.0/10';

/** Bounds of a polling interval, wherever it is set (environment seed or the admin endpoint). */
export const POLLING_INTERVAL_MIN_MS = 1000;
export const POLLING_INTERVAL_MAX_MS = 86_400_000;

export const DEFAULT_ALLOWED_PORTS = '8080,80';

const PORT_LIST = /^\s*\d{1,5}(-\d{1,5})?(\s*,\s*\d{1,5}(-\d{1,5})?)*\s*$/;
/** Secrets copied from examples and tutorials (and this repository's test and demo values). */
const PLACEHOLDER_SECRET =
  /^(secret|changeme|change-me|password|admin|admin123|test[-_].*|your[-_]?(secret|password).*|.*example.*)$/i;

const TRUST_PROXY =
  /^\s*(\d{1,2}|((loopback|linklocal|uniquelocal|[0-9a-fA-F:.]+(\/\d{1,3})?)(\s*,\s*(loopback|linklocal|uniquelocal|[0-9a-fA-F:.]+(\/\d{1,3})?))*))\s*$/;
const CIDR_LIST = /^\s*[0-9a-fA-F:.]+\/\d{1,3}(\s*,\s*[0-9a-fA-F:.]+\/\d{1,3})*\s*$/;

/**
 * Settings every process shares. Properties carry explicit types (not just initialisers) because the
 * implicit string-to-number conversion reads the emitted design:type, which inferred types do not get
 * under transpile-only compilation.
 */
export class CommonEnv {
  @IsIn(NODE_ENVS)
  NODE_ENV: NodeEnv = 'production';

  @IsString()
  @Matches(/^postgres(ql)?:\/\//, { message: 'must be a postgres:// URL' })
  DATABASE_URL!: string;

  @IsInt()
  @Min(1)
  @Max(200)
  DATABASE_POOL_SIZE: number = 10;

  /**
   * Longest wait for a PostgreSQL connection (a new one, or a free one from a busy pool): past it the
   * query fails, so nothing hangs while the database is down or unreachable.
   */
  @IsInt()
  @Min(100)
  @Max(120000)
  DATABASE_CONNECT_TIMEOUT_MS: number = 5000;

  @IsString()
  @Matches(/^rediss?:\/\//, { message: 'must be a redis:// URL' })
  REDIS_URL!: string;

  /** BullMQ key prefix; wrap in braces ({hes}) for Redis Cluster. */
  @IsString()
  @IsNotEmpty()
  QUEUE_PREFIX: string = 'hes';

  /**
   * Seeds the fleet-wide polling interval when PostgreSQL has none yet; afterwards the stored value is in
   * force (PUT /api/meters/polling/interval changes it), so processes never disagree on it.
   */
  @IsInt()
  @Min(POLLING_INTERVAL_MIN_MS)
  @Max(POLLING_INTERVAL_MAX_MS)
  METER_POLLING_INTERVAL: number = 60000;

  @IsString()
  @Matches(CIDR_LIST, {
    message: 'must be a comma-separated list of CIDR blocks, e.g. 10.0.0.0/8,127.0.0.0/8',
  })
  METER_ALLOWED_NETWORKS: string = DEFAULT_ALLOWED_NETWORKS;

  /**
   * Ports meters may be contacted on (the seed's 8080 and 80 by default): with the networks, keeps a meter
   * entry from pointing at PostgreSQL, Redis or an admin port that shares a network with meters.
   */
  @IsString()
  @Matches(PORT_LIST, {
    message: 'must be a comma-separated list of ports or ranges, e.g. 8080,80 or 20000-29999',
  })
  METER_ALLOWED_PORTS: string = DEFAULT_ALLOWED_PORTS;

  /** Deadline of one meter exchange (worker); the api derives how long it waits for a command from it. */
  @IsInt()
  @Min(100)
  @Max(120000)
  METER_TIMEOUT_MS: number = 10000;

  /**
   * SIGTERM/SIGINT: the process stops taking work, finishes what is in flight, closes its connections and
   * exits 0 within this time; past it, it logs what was still pending and exits 1.
   */
  @IsInt()
  @Min(1000)
  @Max(600000)
  SHUTDOWN_GRACE_MS: number = 25000;

  /**
   * Live events kept in the Redis stream (approximate MAXLEN): how far back a reconnecting Socket.IO client
   * can resume. Must cover REALTIME_RECOVERY_WINDOW_MS at the fleet's event rate: 100,000 meters read every
   * minute publish ~1,700 events/s, ~200,000 in 2 minutes (docs/realtime.md gives the memory figure).
   */
  @IsInt()
  @Min(1000)
  @Max(10_000_000)
  REALTIME_STREAM_MAX_LEN: number = 250000;

  /**
   * When set, /metrics (api and worker) answers only `Authorization: Bearer <METRICS_TOKEN>`; unset, it is
   * open (keep it on a network only Prometheus reaches).
   */
  @IsOptional()
  @IsString()
  @MinLength(16)
  METRICS_TOKEN?: string;

  /** Least severe log level written. */
  @IsIn(LOG_LEVELS)
  LOG_LEVEL: LogLevel = 'info';

  /** `json`: one JSON object per line on stdout (for log shippers); `pretty`: coloured text (the demo). */
  @IsIn(LOG_FORMATS)
  LOG_FORMAT: LogFormat = 'json';

  /** A meter clock further than this from the read's time (seconds) is flagged (and synced with CLOCK_SYNC=auto). */
  @IsInt()
  @Min(1)
  @Max(86_400)
  CLOCK_DRIFT_MAX_S: number = 10;
}

export class ApiEnv extends CommonEnv {
  @IsInt()
  @Min(1)
  @Max(65535)
  PORT: number = 5000;

  @IsString()
  @MinLength(1, { message: 'is required' })
  JWT_SECRET!: string;

  /** A number of seconds or a vercel/ms string such as 15m, 1h, 7d. */
  @IsString()
  @Matches(/^\d+(ms|s|m|h|d|w|y)?$/, { message: 'must be seconds or a duration such as 15m, 12h, 7d' })
  JWT_EXPIRES_IN: string = '12h';

  @IsString()
  @Matches(/^[A-Za-z0-9._-]{3,64}$/, { message: 'must be 3-64 letters, digits, ".", "_" or "-"' })
  ADMIN_USERNAME: string = 'admin';

  @IsOptional()
  @IsString()
  @MinLength(8)
  ADMIN_PASSWORD?: string;

  /** Default meter address for new meters and the batch endpoints (seed guide). */
  @IsString()
  METER_HOST: string = '192.168.1.100';

  @IsInt()
  @Min(1)
  @Max(65535)
  METER_PORT: number = 8080;

  /** Login attempts per minute on one username, from any addresses (429 with Retry-After beyond). */
  @IsInt()
  @Min(1)
  LOGIN_RATE_LIMIT_PER_MINUTE: number = 10;

  /**
   * Login attempts per minute from one client address, whatever the usernames (password spraying). Higher
   * than the per-username limit: an office behind one NAT address shares it.
   */
  @IsInt()
  @Min(1)
  LOGIN_RATE_LIMIT_PER_ADDRESS_PER_MINUTE: number = 30;

  /**
   * Which proxies' X-Forwarded-For / X-Forwarded-Proto are believed (Express `trust proxy`): a number of
   * hops in front of the api (1 behind one load balancer), or a comma-separated list of proxy addresses or
   * CIDR blocks (`loopback`, `linklocal`, `uniquelocal` allowed). Unset: none; the socket address counts.
   */
  @IsOptional()
  @IsString()
  @Matches(TRUST_PROXY, {
    message: 'must be a number of hops (e.g. 1) or a comma-separated list of proxy addresses or CIDR blocks',
  })
  TRUST_PROXY?: string;

  /** TRUST_PROXY as Express takes it: hops, a list of addresses/CIDRs, or false. */
  get trustProxy(): number | string[] | false {
    const value = this.TRUST_PROXY?.trim();
    if (!value) return false;
    if (/^\d+$/.test(value)) return Number(value);
    return value
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  }

  @IsOptional()
  @IsString()
  CORS_ORIGINS?: string;

  @Transform(({ value }) => value === true || value === 'true' || value === '1')
  SWAGGER_ENABLED: boolean = true;

  /**
   * The operator console's build (index.html and assets), served at `/`; relative to the working directory.
   * Missing (e.g. a build without the console) = the api serves no console and says so at boot.
   */
  @IsString()
  @MinLength(1)
  CONSOLE_DIR: string = 'dist/console';

  /** Live updates: events waiting for one Socket.IO client beyond which it is disconnected (slow consumer). */
  @IsInt()
  @Min(10)
  @Max(1_000_000)
  REALTIME_MAX_CLIENT_BACKLOG: number = 10000;

  /** Live updates: a client that reconnects within this long gets the events it missed (connection state recovery). */
  @IsInt()
  @Min(1000)
  @Max(3_600_000)
  REALTIME_RECOVERY_WINDOW_MS: number = 120000;

  /**
   * Second listener of the api, for meters (POST /push/readings, /push/alarms): field networks are not the
   * operators' network. 0 turns it off.
   */
  @IsInt()
  @Min(0)
  @Max(65535)
  PUSH_PORT: number = 5080;

  /**
   * 64 hex digits (32 bytes): key that encrypts the meters' push secrets at rest (AES-256-GCM; HMAC
   * verification needs the secret itself). Unset: derived from JWT_SECRET (changing JWT_SECRET then
   * invalidates every push secret).
   */
  @IsOptional()
  @IsString()
  @Matches(/^[0-9a-fA-F]{64}$/, { message: 'must be 64 hex digits (32 bytes)' })
  PUSH_SECRET_KEY?: string;

  /** Pushes (readings + alarms) accepted per meter per minute; beyond it 429. */
  @IsInt()
  @Min(1)
  @Max(100000)
  PUSH_RATE_LIMIT_PER_MINUTE: number = 120;

  /**
   * Meters whose decrypted push secret each api instance keeps (LRU, 5 minutes each; 0 turns the cache off):
   * a push then costs no statement. Rotation and its bounds: docs/push.md.
   */
  @IsInt()
  @Min(0)
  @Max(10_000_000)
  PUSH_SECRET_CACHE_SIZE: number = 100_000;

  /**
   * Turns on the seed system's POST /api/meters/data-ingestion (its simulator and field devices send
   * `authentication`, compared with this in constant time). Unset: the route answers 404.
   */
  @IsOptional()
  @IsString()
  @MinLength(16)
  METER_INGESTION_KEY?: string;

  crossFieldProblems(): string[] {
    return [...this.secretProblems(), ...this.trustProxyProblems()];
  }

  /**
   * Outside development/test (production is the default), a guessable secret is a boot error, never a
   * warning: a JWT secret signs every token, the initial admin password opens everything.
   */
  private secretProblems(): string[] {
    if (this.NODE_ENV === 'development' || this.NODE_ENV === 'test') return [];
    const problems: string[] = [];
    const jwt = this.JWT_SECRET ?? '';
    if (jwt && (jwt.length < 32 || new Set(jwt).size < 10 || PLACEHOLDER_SECRET.test(jwt))) {
      problems.push(
        'JWT_SECRET: must be at least 32 random characters (not a placeholder or a repeated pattern) outside ' +
          'development/test; generate one with `openssl rand -base64 48`',
      );
    }
    const password = this.ADMIN_PASSWORD;
    if (
      password &&
      (password.length < 12 || PLACEHOLDER_SECRET.test(password) || password.includes(this.ADMIN_USERNAME))
    ) {
      problems.push(
        'ADMIN_PASSWORD: must be at least 12 characters, not a placeholder and not contain ADMIN_USERNAME ' +
          'outside development/test',
      );
    }
    return problems;
  }

  private trustProxyProblems(): string[] {
    const list = this.trustProxy;
    if (!Array.isArray(list)) return [];
    const bad = list.filter((item) => {
      if (['loopback', 'linklocal', 'uniquelocal'].includes(item)) return false;
      const [address, prefix] = item.split('/');
      const family = isIP(address);
      const max = family === 4 ? 32 : 128;
      return !family || (prefix !== undefined && !(/^\d+$/.test(prefix) && Number(prefix) <= max));
    });
    return bad.length ? [`TRUST_PROXY: not a proxy address or CIDR block: ${bad.join(', ')}`] : [];
  }
}

export const METER_HTTP_CLIENTS = ['undici', 'axios'] as const;
export type MeterHttpClientKind = (typeof METER_HTTP_CLIENTS)[number];

export class WorkerEnv extends CommonEnv {
  /** Scheduled meter exchanges actively served at once per worker (a silent meter hands its slot back). */
  @IsInt()
  @Min(1)
  @Max(10000)
  METER_MAX_CONCURRENT_POLLS: number = 200;

  /**
   * Scheduled exchanges per worker waiting out their deadline on a meter silent for over 250 ms, their
   * slot handed back: a silent meter costs a socket and a timer. Sized for a dark part of the fleet: 20 %
   * of 100,000 meters every 60 s with a 10 s deadline is ~3,300 at once.
   */
  @IsInt()
  @Min(0)
  @Max(100000)
  METER_MAX_SILENT_READS: number = 10000;

  @IsIn(METER_HTTP_CLIENTS)
  METER_HTTP_CLIENT: MeterHttpClientKind = 'undici';

  @IsInt()
  @Min(1)
  METER_OFFLINE_AFTER_FAILURES: number = 1;

  @IsInt()
  @Min(1000)
  METER_OFFLINE_BACKOFF_MAX_MS: number = 900000;

  @IsInt()
  @Min(1024)
  @Max(16 * 1024 * 1024)
  METER_RESPONSE_MAX_BYTES: number = 256 * 1024;

  @IsInt()
  @Min(1)
  @Max(3650)
  READINGS_RETENTION_DAYS: number = 90;

  /** Audit trail entries (audit_log) older than this are deleted by the worker's maintenance. */
  @IsInt()
  @Min(1)
  @Max(36500)
  AUDIT_RETENTION_DAYS: number = 365;

  /**
   * Reads a worker keeps in memory while their store waits for PostgreSQL (taken, or being taken).
   * Past it, scheduled meters are not contacted until the backlog drains (counted, never a read dropped).
   */
  @IsInt()
  @Min(100)
  @Max(1_000_000)
  STORE_BUFFER_MAX_READS: number = 50000;

  /**
   * BullMQ lock of a poll job. A worker that dies holding a batch loses it after at most this, and the
   * batch is taken over by another worker within 1.5× this, well inside the interval. The meter locks and
   * the load profile collection jobs use the same lifetime.
   */
  @IsInt()
  @Min(1000)
  @Max(300000)
  POLL_JOB_LOCK_MS: number = 10000;

  /** The worker's HTTP listener: /health/live, /health/ready and /metrics. 0 turns it off. */
  @IsInt()
  @Min(0)
  @Max(65535)
  WORKER_HTTP_PORT: number = 5001;

  /** A meter whose last stored read was pushed within the polling interval is not polled at its tick. */
  @Transform(({ value }) => value === true || value === 'true' || value === '1')
  PUSH_SUPPRESSES_POLL: boolean = true;

  /** Load profile collection cadence per meter (ms), like METER_POLLING_INTERVAL. */
  @IsInt()
  @Min(1000)
  @Max(POLLING_INTERVAL_MAX_MS)
  PROFILE_READ_INTERVAL: number = 3_600_000;

  /** Load profile entries are kept this many days (whole daily partitions dropped). */
  @IsInt()
  @Min(1)
  @Max(3650)
  PROFILE_RETENTION_DAYS: number = 400;

  /** `auto`: a meter clock beyond CLOCK_DRIFT_MAX_S is set through the command queue (audited); `off`: only flagged. */
  @IsIn(CLOCK_SYNC_MODES)
  CLOCK_SYNC: ClockSyncMode = 'off';

  /** Automatic clock syncs of one meter are at least this far apart (ms). */
  @IsInt()
  @Min(1000)
  @Max(30 * 86_400_000)
  CLOCK_SYNC_MIN_INTERVAL: number = 86_400_000;
}
