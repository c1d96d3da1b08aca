import type { PolledMeter, ReadCommandPayload, ReadCommandResult } from '@app/contracts';
import type { MeterTransport } from '@app/meter-protocol';
import { MeterBusyError, type MeterLockService } from '../polling/meter-lock.service';
import type { OnDemandReadService } from '../polling/on-demand-read.service';
import type { PollingRepository } from '../polling/polling.repository';
import type { CommandAuditRepository, CommandCompletion } from './command-audit.repository';
import { COMMAND_FAILURE, CommandExecutor } from './command-executor.service';

/**
 * The executor's own logic, its collaborators (database, Redis lock, meter) replaced by recorders: the
 * order of the round trips an operator waits for, and what each way a command cannot go ahead records.
 * The same paths against real processes: test/commands*.e2e-spec.ts.
 */
const METER: PolledMeter = {
  id: '7d0c1f4e-0000-4000-8000-000000000001',
  meterNumber: 'MTR-1',
  ipAddress: '127.0.0.1',
  port: 8080,
  obisCodes: null,
  areaId: 'a',
  status: 'online',
  consecutiveFailures: 0,
};

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

function setUp(options: { meter?: PolledMeter | null; busy?: boolean; auditFails?: boolean } = {}) {
  const steps: string[] = [];
  const lockGranted = deferred<void>();
  const meterRow = deferred<PolledMeter | null>();
  const completions: CommandCompletion[] = [];
  const meters = {
    findPolledMeter: () => {
      steps.push('meter row asked');
      return meterRow.promise;
    },
  } as unknown as PollingRepository;
  const locks = {
    withMeterLock: async <T>(meterId: string, fn: () => Promise<T>) => {
      steps.push('lock asked');
      await lockGranted.promise;
      if (options.busy) throw new MeterBusyError(meterId, 10);
      try {
        return await fn();
      } finally {
        await new Promise((r) => setTimeout(r, 20)); // a Redis round trip
        steps.push('lock released');
      }
    },
  } as unknown as MeterLockService;
  const reads = {
    read: (meter: PolledMeter): Promise<ReadCommandResult> => {
      steps.push(`meter ${meter.meterNumber} read`);
      return Promise.resolve({
        meterId: meter.id,
        meterNumber: meter.meterNumber,
        communicationStatus: 'success',
        readings: [],
        responseTime: 12,
        readAt: new Date().toISOString(),
      });
    },
  } as unknown as OnDemandReadService;
  const audit = {
    complete: (_id: string, completion: CommandCompletion) => {
      steps.push('audit completed');
      completions.push(completion);
      return options.auditFails ? Promise.reject(new Error('PostgreSQL away')) : Promise.resolve();
    },
  } as unknown as CommandAuditRepository;
  const executor = new CommandExecutor(reads, meters, locks, {} as MeterTransport, audit);
  return { executor, steps, completions, lockGranted, meterRow };
}

const payload = (notAfter = Date.now() + 5000): ReadCommandPayload => ({
  meterId: METER.id,
  commandId: 'c1',
  requestedBy: 'operator',
  notAfter,
});

describe('CommandExecutor', () => {
  it("asks for the meter's row and its lock at once, reads, and completes the audit once the read is taken", async () => {
    const t = setUp();
    const result = t.executor.read(payload());
    await new Promise((r) => setImmediate(r));
    // Both round trips are under way before either has answered.
    expect(t.steps).toEqual(['meter row asked', 'lock asked']);
    t.lockGranted.resolve();
    t.meterRow.resolve(METER);
    await expect(result).resolves.toMatchObject({ meterNumber: 'MTR-1', communicationStatus: 'success' });
    expect(t.steps.slice(2)).toEqual(['meter MTR-1 read', 'audit completed', 'lock released']);
    expect(t.completions).toEqual([{ status: 'success', error: null, responseTimeMs: 12 }]);
  });

  it('a meter deleted meanwhile is not contacted: not-found, audited as failed', async () => {
    const t = setUp();
    t.lockGranted.resolve();
    t.meterRow.resolve(null);
    const result = await t.executor.read(payload());
    expect(result).toMatchObject({ communicationStatus: 'failed', failureKind: COMMAND_FAILURE.NOT_FOUND });
    expect(t.steps).not.toContain('meter MTR-1 read');
    expect(t.completions).toEqual([
      { status: 'failed', error: 'meter not found (deleted)', responseTimeMs: 0 },
    ]);
  });

  it('a meter kept busy until notAfter is not contacted: busy, with its number, audited as failed', async () => {
    const t = setUp({ busy: true });
    t.lockGranted.resolve();
    t.meterRow.resolve(METER);
    const result = await t.executor.read(payload());
    expect(result).toMatchObject({
      meterNumber: 'MTR-1',
      communicationStatus: 'failed',
      failureKind: COMMAND_FAILURE.BUSY,
    });
    expect(t.steps).not.toContain('meter MTR-1 read');
    expect(t.completions[0]).toMatchObject({ status: 'failed' });
  });

  it('a command past notAfter before it starts touches nothing but its audit record', async () => {
    const t = setUp();
    const result = await t.executor.read(payload(Date.now() - 1));
    expect(result).toMatchObject({ failureKind: COMMAND_FAILURE.EXPIRED });
    expect(t.steps).toEqual(['audit completed']);
  });

  it('an audit record that cannot be completed fails the command (after the lock is released), never unhandled meanwhile', async () => {
    const t = setUp({ auditFails: true });
    const unhandled: unknown[] = [];
    const onUnhandled = (err: unknown) => unhandled.push(err);
    process.on('unhandledRejection', onUnhandled);
    try {
      // The audit fails while the lock is still being released.
      t.meterRow.resolve(METER);
      t.lockGranted.resolve();
      const result = t.executor.read(payload());
      await expect(result).rejects.toThrow('PostgreSQL away');
      expect(t.steps.at(-1)).toBe('lock released');
      await new Promise((r) => setTimeout(r, 20));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
