/**
 * Starts the project's apps as real child processes for end-to-end tests (TypeScript run directly through
 * ts-node, so tests always exercise the current source). Output is kept for assertions and failures.
 */
import { ChildProcess, spawn } from 'node:child_process';
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
}

export async function startProcess(app: AppName, options: StartOptions = {}): Promise<StartedProcess> {
  const entry = path.join(REPO_ROOT, 'apps', app, 'src', 'main.ts');
  const child = spawn(
    process.execPath,
    [
      // Diagnosis, e.g. HES_CHILD_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" (not allowed in NODE_OPTIONS).
      ...(process.env.HES_CHILD_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
      '-r',
      'ts-node/register/transpile-only',
      '-r',
      'tsconfig-paths/register',
      entry,
      ...(options.args ?? []),
    ],
    {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        // Several apis run side by side in tests: the meters' push listener only where a test asks for it.
        ...(app === 'api' ? { PUSH_PORT: '0' } : {}),
        TS_NODE_PROJECT: path.join(REPO_ROOT, 'tsconfig.json'),
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
