#!/usr/bin/env node
'use strict';
/**
 * npm run demo — the whole system on one machine: PostgreSQL and Redis (started or reused), migrations,
 * a build (with the operator console), the meter simulator (10 meters), the api on :5000 (serving the
 * console at /) and a worker. It registers the simulated meters through the REST API, enables them for
 * online monitoring and prints how to watch them.
 * Ctrl-C stops everything it started.
 */
const { spawn, spawnSync } = require('node:child_process');
const { randomBytes } = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { ROOT, ensureDependencies, ensureServices } = require('./lib/services');
const { migrate } = require('./lib/migrate');

const API_PORT = Number(process.env.PORT || 5000);
const PUSH_PORT = Number(process.env.PUSH_PORT || 5080);
const SIM_PORT = Number(process.env.DEMO_SIMULATOR_PORT || 8080);
const SIM_CONTROL_PORT = Number(process.env.DEMO_SIMULATOR_CONTROL_PORT || 8099);
const METERS = Number(process.env.DEMO_METERS || 10);
const INTERVAL = Number(process.env.METER_POLLING_INTERVAL || 10000);
const STATE_FILE = path.join(ROOT, '.data', 'demo-credentials.json');

const children = [];
const log = (msg) => console.log(`[demo] ${msg}`);

function demoCredentials() {
  if (fs.existsSync(STATE_FILE)) return JSON.parse(fs.readFileSync(STATE_FILE, 'utf8'));
  const creds = {
    username: process.env.ADMIN_USERNAME || 'admin',
    password: process.env.ADMIN_PASSWORD || `demo-${randomBytes(6).toString('hex')}`,
    jwtSecret: randomBytes(32).toString('hex'),
  };
  fs.mkdirSync(path.dirname(STATE_FILE), { recursive: true });
  fs.writeFileSync(STATE_FILE, JSON.stringify(creds, null, 2), { mode: 0o600 });
  return creds;
}

/** As `npm run start:worker`, docker-compose and deploy/k8s run it (README "Worker memory and GC"). */
const WORKER_NODE_FLAGS = ['--max-semi-space-size=64'];

function start(name, script, args, env, nodeFlags = []) {
  const child = spawn(process.execPath, [...nodeFlags, script, ...args], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    // Own process group: a Ctrl-C reaches the demo only, which stops the processes in order (below).
    detached: true,
  });
  const prefix = `[${name}] `;
  const relay = (stream) => {
    let pending = '';
    stream.on('data', (chunk) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop();
      for (const line of lines) process.stdout.write(prefix + line + '\n');
    });
  };
  relay(child.stdout);
  relay(child.stderr);
  child.on('exit', (code, signal) => {
    if (!shuttingDown) {
      log(`${name} exited (${signal || code}); stopping the demo`);
      shutdown(1);
    }
  });
  children.push({ name, child });
  return child;
}

async function waitFor(description, check, timeoutMs = 60000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not up yet
    }
    if (Date.now() > until) throw new Error(`${description} did not come up within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function api(method, url, token, body) {
  const res = await fetch(`http://127.0.0.1:${API_PORT}${url}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await res.json().catch(() => ({}));
  return { status: res.status, body: json };
}

async function registerFleet(creds, manifest) {
  const login = await api('POST', '/api/auth/login', null, {
    username: creds.username,
    password: creds.password,
  });
  if (login.status !== 200 && login.status !== 201)
    throw new Error(`login failed: ${JSON.stringify(login.body)}`);
  const token = login.body.data.token;
  // The interval in force is the one stored in PostgreSQL (METER_POLLING_INTERVAL only seeds a new
  // database): set it, so that a database kept from an earlier run polls as this demo says.
  const interval = await api('PUT', '/api/meters/polling/interval', token, { intervalMs: INTERVAL });
  if (interval.status !== 200)
    throw new Error(`setting the polling interval failed: ${JSON.stringify(interval.body)}`);
  let area = await api('POST', '/api/areas', token, {
    name: 'Demo Area',
    code: 'DEMO',
    description: 'Simulated meters',
  });
  if (area.status === 409) {
    const list = await api('GET', '/api/areas', token);
    area = { body: { data: list.body.data.find((a) => a.code === 'DEMO') } };
  }
  const areaId = area.body.data.id;
  for (const m of manifest) {
    const created = await api('POST', '/api/meters', token, {
      meterNumber: m.meterNumber,
      meterType: 'three-phase',
      brand: 'hexing',
      model: 'HEM-3X30',
      area: areaId,
      ipAddress: m.ipAddress,
      port: m.port,
    });
    if (created.status !== 201 && created.status !== 409) {
      throw new Error(`registering ${m.meterNumber} failed: ${JSON.stringify(created.body)}`);
    }
  }
  const enabled = await api('POST', '/api/meters/batch/configure-online', token, {
    meterIds: manifest.map((m) => m.meterNumber),
    status: 'online',
  });
  return { token, enabled: enabled.body };
}

let shuttingDown = false;
let services;
/** Beyond the apps' SHUTDOWN_GRACE_MS (default 25 s), a process that has not exited is killed. */
const STOP_WAIT_MS = 30000;
/** Workers first (their in-flight reads still need the simulator, PostgreSQL and Redis), then api, simulator. */
const STOP_ORDER = ['worker', 'api', 'simulator'];

function stopChild({ name, child }) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      log(`${name} did not stop within ${STOP_WAIT_MS / 1000} s: killing it`);
      child.kill('SIGKILL');
    }, STOP_WAIT_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Stops the apps in STOP_ORDER, each waited for, and only then PostgreSQL and Redis. */
async function shutdown(code = 0) {
  if (shuttingDown) return;
  shuttingDown = true;
  log('stopping…');
  for (const name of STOP_ORDER) {
    await Promise.all(children.filter((c) => c.name === name).map(stopChild));
  }
  await services?.stop();
  process.exit(code);
}

(async () => {
  ensureDependencies();
  process.on('SIGINT', () => shutdown(0));
  process.on('SIGTERM', () => shutdown(0));
  services = await ensureServices();
  await migrate(services.databaseUrl);
  log('building…');
  const build = spawnSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
  if (build.status !== 0) throw new Error('build failed');

  const creds = demoCredentials();
  const manifestFile = path.join(ROOT, '.data', 'demo-meters.json');
  const env = {
    ...process.env,
    NODE_ENV: 'development',
    DATABASE_URL: services.databaseUrl,
    REDIS_URL: services.redisUrl,
    PORT: String(API_PORT),
    PUSH_PORT: String(PUSH_PORT),
    JWT_SECRET: creds.jwtSecret,
    ADMIN_USERNAME: creds.username,
    ADMIN_PASSWORD: creds.password,
    METER_POLLING_INTERVAL: String(INTERVAL),
    METER_HOST: '127.0.0.1',
    METER_PORT: String(SIM_PORT),
    METER_ALLOWED_NETWORKS:
      process.env.METER_ALLOWED_NETWORKS ||
      '10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,100.64.0.0/10,127.0.0.0/8',
    // The simulated meters answer on SIM_PORT, the seed's 8080 and 80 stay allowed for real meters.
    METER_ALLOWED_PORTS: process.env.METER_ALLOWED_PORTS || `8080,80,${SIM_PORT}`,
    // Readable lines for a person watching; production keeps JSON lines (LOG_FORMAT=json).
    LOG_FORMAT: process.env.LOG_FORMAT || 'pretty',
  };

  fs.rmSync(manifestFile, { force: true });
  start(
    'simulator',
    'dist/apps/simulator/src/main.js',
    [
      '--meters',
      String(METERS),
      '--port',
      String(SIM_PORT),
      '--control-port',
      String(SIM_CONTROL_PORT),
      '--addresses',
      '127.20.0.0/24',
      '--format',
      'mixed',
      '--prefix',
      'DEMO',
      '--manifest',
      manifestFile,
    ],
    env,
  );
  await waitFor('simulator', () => fs.existsSync(manifestFile));
  const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8'));
  const meters = Array.isArray(manifest) ? manifest : manifest.meters;

  start('api', 'dist/apps/api/src/main.js', [], env);
  await waitFor('api', async () => (await fetch(`http://127.0.0.1:${API_PORT}/api/health`)).ok);
  start('worker', 'dist/apps/worker/src/main.js', [], env, WORKER_NODE_FLAGS);

  const { enabled } = await registerFleet(creds, meters);
  const first = meters[0].meterNumber;
  console.log(`
────────────────────────────────────────────────────────────────────────
 Smart HES demo is running (${meters.length} simulated meters, polled every ${INTERVAL / 1000} s)

   Console       http://localhost:${API_PORT}/        (the operator console: log in with the admin below)
   API           http://localhost:${API_PORT}/api
   API docs      http://localhost:${API_PORT}/api/docs
   Bull Board    http://localhost:${API_PORT}/admin/queues  (after POST /api/auth/board-session, see README)
   Meter push    http://localhost:${PUSH_PORT}/push/readings, /push/alarms (docs/push.md)
   Simulator     control API http://127.0.0.1:${SIM_CONTROL_PORT}
   Admin login   ${creds.username} / ${creds.password}

 ${enabled.message || ''}

 Try it (readings appear within one interval):
   TOKEN=$(curl -s -X POST localhost:${API_PORT}/api/auth/login -H 'content-type: application/json' \\
     -d '{"username":"${creds.username}","password":"${creds.password}"}' | node -pe 'JSON.parse(fs.readFileSync(0)).data.token')
   curl -s localhost:${API_PORT}/api/meters/polling/status -H "authorization: Bearer $TOKEN"
   curl -s localhost:${API_PORT}/api/meters/${first}/obis-readings -H "authorization: Bearer $TOKEN"
   curl -s -X POST localhost:${API_PORT}/api/meters/${first}/read-obis -H "authorization: Bearer $TOKEN"
   npm run watch -- ${first}      # live Socket.IO events for one meter (another terminal)

 Ctrl-C stops everything the demo started.
────────────────────────────────────────────────────────────────────────
`);
})().catch(async (err) => {
  console.error(`[demo] ${err.message}`);
  await shutdown(1);
});
