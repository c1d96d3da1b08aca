/**
 * Starts the project's apps as real child processes for end-to-end tests and benchmarks. Tests run the
 * TypeScript source through ts-node, so they always exercise the current source, except right after
 * `npm test` has built that same source (HES_E2E_FROM_BUILD=1): then they run dist/, which starts in ~1.5 s
 * of CPU instead of ~5-10 s of transpiling on every start. Benchmarks run the build, as production runs it
 * (ts-node's source-map support alone makes every network error's stack cost a source-map lookup, a few per
 * cent of a polling worker's CPU). Output is kept for assertions and failures.
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

export type AppName = 'api' | 'worker' | 'simulator';

export interface StartedProcess {
  child: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Resolves when `pattern` appears in the output (or rejects after timeoutMs / on exit). */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Sends `signal` (SIGTERM by default) and resolves with the exit code once the process has exited. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
}

export interface StartOptions {
  env?: Record<string, string | undefined>;
  args?: string[];
  /** Output that means "ready"; startProcess resolves once it is seen. */
  readyPattern?: RegExp;
  readyTimeoutMs?: number;
  /**
   * Run dist/ (from `npm run build`, or buildOnce) instead of the source through ts-node: what production
   * runs, and it starts in a fraction of the time, for suites that run right after a build. Defaults to
   * HES_E2E_FROM_BUILD=1, which `npm test` sets once its build step of the same source has succeeded.
   */
  fromBuild?: boolean;
}

/** Set by scripts/test.js after its build: dist/ is the current source, so children run it. */
export const E2E_FROM_BUILD_ENV = 'HES_E2E_FROM_BUILD';

/** The worker's node flags in production: a young generation sized for its allocation rate. */
export const WORKER_NODE_FLAGS = ['--max-semi-space-size=64'];

export async function startProcess(app: AppName, options: StartOptions = {}): Promise<StartedProcess> {
  const fromBuild = options.fromBuild ?? process.env[E2E_FROM_BUILD_ENV] === '1';
  const entry = fromBuild
    ? [path.join(REPO_ROOT, 'dist', 'apps', app, 'src', 'main.js')]
    : [
        '-r',
        'ts-node/register/transpile-only',
        '-r',
        'tsconfig-paths/register',
        path.join(REPO_ROOT, 'apps', app, 'src', 'main.ts'),
      ];
  const child = spawn(
    process.execPath,
    [
      // Diagnosis, e.g. HES_CHILD_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" (not allowed in NODE_OPTIONS).
      ...(process.env.HES_CHILD_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
      // As production runs it (npm run start:worker, docker-compose, deploy/k8s; README "Worker memory and GC").
      ...(app === 'worker' ? WORKER_NODE_FLAGS : []),
      ...entry,
      ...(options.args ?? []),
    ],
    {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        TS_NODE_PROJECT: path.join(REPO_ROOT, 'tsconfig.json'),
        // Several workers run at once in tests: their HTTP listener only where a test asks for a port.
        ...(app === 'worker' ? { WORKER_HTTP_PORT: '0' } : {}),
        // Several apis run side by side in tests: the meters' push listener only where a test asks for it.
        ...(app === 'api' ? { PUSH_PORT: '0' } : {}),
        ...options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    out += chunk.toString();
    if (out.length > 2_000_000) out = out.slice(-1_000_000);
    for (const l of listeners) l();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const waitForOutput = (pattern: RegExp, timeoutMs = 30000) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (pattern.test(out)) {
          cleanup();
          resolve();
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${app}: ${pattern} not seen within ${timeoutMs} ms. Output:\n${out.slice(-4000)}`));
      }, timeoutMs);
      const onExit = () => {
        cleanup();
        reject(new Error(`${app} exited before ${pattern} was seen. Output:\n${out.slice(-4000)}`));
      };
      const cleanup = () => {
        clearTimeout(timer);
        listeners.delete(check);
        child.off('exit', onExit);
      };
      listeners.add(check);
      child.once('exit', onExit);
      check();
    });

  const started: StartedProcess = {
    child,
    output: () => out,
    waitForOutput,
    async stop(signal = 'SIGTERM', timeoutMs = 15000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
  if (options.readyPattern) {
    try {
      await waitForOutput(options.readyPattern, options.readyTimeoutMs ?? 60000);
    } catch (err) {
      await started.stop('SIGKILL');
      throw err;
    }
  }
  return started;
}

let built = false;

/** Builds dist/ (npm run build) once per process, for startProcess(…, { fromBuild: true }). */
/** What each process printed, to $TMPDIR/hes-<suite>-<name>.log, for reading a failed run afterwards. */
export function saveOutputs(suite: string, processes: Record<string, StartedProcess | undefined>): void {
  for (const [name, p] of Object.entries(processes)) {
    if (p) writeFileSync(path.join(tmpdir(), `hes-${suite}-${name}.log`), p.output());
  }
}

export function buildOnce(): void {
  if (built) return;
  const r = spawnSync('npm', ['run', '--silent', 'build'], { cwd: REPO_ROOT, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`npm run build failed (exit ${r.status})`);
  built = true;
}
