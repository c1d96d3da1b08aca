/**
 * Guarantee 6, the process-level part: on SIGTERM/SIGINT a process finishes its in-flight work, closes its
 * connections after it, and exits 0; a second signal does not cut that short; past SHUTDOWN_GRACE_MS it
 * says it is giving up and exits 1. (The apps themselves are stopped this way in faults-infra.e2e-spec.)
 */
import { REPO_ROOT } from '@app/testing';
import { spawn } from 'node:child_process';
import * as path from 'node:path';

interface Stopped {
  code: number | null;
  output: string;
}

async function runAndSignal(env: Record<string, string>, signals: NodeJS.Signals[]): Promise<Stopped> {
  const child = spawn(
    process.execPath,
    [
      '-r',
      'ts-node/register/transpile-only',
      '-r',
      'tsconfig-paths/register',
      path.join(REPO_ROOT, 'test', 'faults-infra-shutdown-fixture.ts'),
    ],
    {
      cwd: REPO_ROOT,
      env: { ...process.env, TS_NODE_PROJECT: path.join(REPO_ROOT, 'tsconfig.json'), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('fixture ready')) resolve();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then(() => reject(new Error(`fixture exited before it was ready:\n${output}`)));
  });
  for (const signal of signals) {
    child.kill(signal);
    await new Promise((r) => setTimeout(r, 100));
  }
  const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const code = await exited;
  clearTimeout(killer);
  return { code, output };
}

jest.setTimeout(90_000);

describe('a process stopped by a signal', () => {
  it('finishes its in-flight work, closes its connections after it and exits 0, even if signalled twice', async () => {
    const { code, output } = await runAndSignal({ WORK_MS: '1000', SHUTDOWN_GRACE_MS: '10000' }, [
      'SIGTERM',
      'SIGINT',
    ]);
    expect(code).toBe(0);
    expect(output).toMatch(/SIGINT received again: already stopping/);
    expect(output).toMatch(/in-flight work finished[\s\S]*connections closed[\s\S]*stopped cleanly/);
    expect(output).not.toMatch(/^\s+at /m);
  });

  it('gives up after SHUTDOWN_GRACE_MS: says what was still open and exits 1', async () => {
    const { code, output } = await runAndSignal({ WORK_MS: '60000', SHUTDOWN_GRACE_MS: '1500' }, ['SIGTERM']);
    expect(code).toBe(1);
    expect(output).toMatch(/shutdown still pending after 1500 ms, exiting anyway; open: .*Timeout/);
    expect(output).not.toMatch(/in-flight work finished/);
  });
});
