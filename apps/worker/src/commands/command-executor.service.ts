import type {
  PolledMeter,
  ReadCommandPayload,
  ReadCommandResult,
  WriteCommandPayload,
  WriteCommandResult,
} from '@app/contracts';
import { isMeterCommunicationError, METER_TRANSPORT, type MeterTransport } from '@app/meter-protocol';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { MeterBusyError, MeterLockService } from '../polling/meter-lock.service';
import { DEFAULT_METER_PORT } from '../polling/meter-reader';
import { OnDemandReadService } from '../polling/on-demand-read.service';
import { PollingRepository } from '../polling/polling.repository';
import { CommandAuditRepository } from './command-audit.repository';

/** Failure kinds of commands that never reached the meter (besides the transport's MeterFailureKind). */
export const COMMAND_FAILURE = {
  /** Not started before the api's notAfter: the api has stopped waiting, so the meter is not contacted. */
  EXPIRED: 'expired',
  /** Another poll or command kept the meter's lock until notAfter. */
  BUSY: 'busy',
  /** The meter was deleted between the request and the job. */
  NOT_FOUND: 'not-found',
} as const;

/**
 * Runs on-demand commands on one meter each, under the meter's lock (so a scheduled poll and a command
 * never talk to it at once), and completes the audit record the api created. Meter failures are results,
 * not exceptions: the api maps them to 502/504.
 */
@Injectable()
export class CommandExecutor {
  private readonly logger = new Logger(CommandExecutor.name);

  constructor(
    private readonly reads: OnDemandReadService,
    private readonly meters: PollingRepository,
    private readonly locks: MeterLockService,
    @Inject(METER_TRANSPORT) private readonly transport: MeterTransport,
    private readonly audit: CommandAuditRepository,
  ) {}

  read(payload: ReadCommandPayload): Promise<ReadCommandResult> {
    return this.onMeter(
      payload,
      (meter) => this.reads.read(meter, payload.obisCodes),
      (failure, meterNumber) => this.unsentRead(payload, failure, meterNumber),
      (result) => this.completeRead(payload, result),
    );
  }

  write(payload: WriteCommandPayload): Promise<WriteCommandResult> {
    const base = { obisCode: payload.obisCode, value: payload.value };
    return this.onMeter(
      payload,
      (meter) => this.writeLocked(meter, payload),
      (failure) => ({ ...base, success: false, responseTime: 0, ...failure }),
      (result) =>
        this.audit.complete(payload.commandId, {
          status: result.success ? 'success' : 'failed',
          oldValue:
            result.previousValue === undefined || result.previousValue === null
              ? null
              : String(result.previousValue),
          error: result.success ? null : (result.error ?? 'the meter refused the write'),
          responseTimeMs: result.responseTime,
        }),
    );
  }

  /**
   * Runs `run` on the command's meter under its lock, then completes the audit record. An operator waits
   * for every round trip here, and each one waits its turn in an event loop busy with the scheduled
   * polls, so independent round trips overlap: the meter's row is read while its lock is asked for, and
   * the audit record is completed while the lock is released. A command that cannot go ahead (expired,
   * meter deleted, meter busy until notAfter) gets `unsent`'s result, audited the same way.
   */
  private async onMeter<R>(
    payload: ReadCommandPayload | WriteCommandPayload,
    run: (meter: PolledMeter) => Promise<R>,
    unsent: (failure: CommandFailure, meterNumber?: string) => R,
    complete: (result: R) => Promise<void>,
  ): Promise<R> {
    const { meterId, notAfter } = payload;
    if (isPast(notAfter)) return this.audited(unsent(expired()), complete);
    const meterRow = this.meters.findPolledMeter(meterId);
    // Awaited on every path below; this only keeps a rejection that comes first from going unhandled.
    meterRow.catch(() => undefined);
    let auditing: Promise<unknown> | undefined;
    let result: R;
    try {
      result = await this.locks.withMeterLock(
        meterId,
        async () => {
          const meter = await meterRow;
          if (!meter) return unsent(notFound());
          if (isPast(notAfter)) return unsent(expired(), meter.meterNumber);
          const done = await run(meter);
          // Settled either way, so an early failure is not unhandled while the lock is being released.
          auditing = complete(done).then(
            () => undefined,
            (err: unknown) => ({ failed: err }),
          );
          return done;
        },
        { waitMs: notAfter === undefined ? 0 : Math.max(0, notAfter - Date.now()) },
      );
    } catch (err) {
      if (!(err instanceof MeterBusyError)) throw err;
      const meter = await meterRow;
      result = meter ? unsent(busy(err), meter.meterNumber) : unsent(notFound());
    }
    if (!auditing) return this.audited(result, complete);
    const audit = (await auditing) as { failed: unknown } | undefined;
    if (audit) throw audit.failed;
    return result;
  }

  private async audited<R>(result: R, complete: (result: R) => Promise<void>): Promise<R> {
    await complete(result);
    return result;
  }

  /** Marks a command failed after an unexpected error (the job then fails; the api answers 500). */
  async failUnexpectedly(commandId: string | undefined, err: unknown): Promise<void> {
    if (!commandId) return;
    const reason = err instanceof Error ? err.message : String(err);
    await this.audit
      .complete(commandId, { status: 'failed', error: `worker error: ${reason}` })
      .catch((e: Error) =>
        this.logger.error(`could not record the failure of command ${commandId}: ${e.message}`),
      );
  }

  private async writeLocked(meter: PolledMeter, payload: WriteCommandPayload): Promise<WriteCommandResult> {
    const base = { obisCode: payload.obisCode, value: payload.value };
    if (isPast(payload.notAfter)) return { ...base, success: false, responseTime: 0, ...expired() };
    if (!meter.ipAddress) {
      return {
        ...base,
        success: false,
        responseTime: 0,
        error: 'meter has no address',
        failureKind: 'not-allowed',
      };
    }
    try {
      const written = await this.transport.write(
        {
          ipAddress: meter.ipAddress,
          port: meter.port ?? DEFAULT_METER_PORT,
          meterNumber: meter.meterNumber,
        },
        payload.obisCode,
        payload.setClockToNow ? new Date().toISOString() : payload.value,
      );
      const result: WriteCommandResult = {
        ...base,
        success: written.success,
        responseTime: written.responseTime,
      };
      if (written.previousValue !== undefined) result.previousValue = written.previousValue;
      if (!written.success) {
        result.error = written.error ?? 'the meter refused the write';
        if (written.statusCode !== undefined && written.statusCode >= 400)
          result.meterStatusCode = written.statusCode;
      }
      return result;
    } catch (err) {
      if (!isMeterCommunicationError(err)) throw err;
      // A timeout or reset after sending leaves the write's outcome unknown: say so in the audit trail.
      const unknownOutcome =
        err.kind === 'timeout' || err.kind === 'reset' ? ' (outcome on the meter unknown)' : '';
      return {
        ...base,
        success: false,
        responseTime: err.responseTime,
        error: `${err.message}${unknownOutcome}`,
        failureKind: err.kind,
        ...(err.statusCode !== undefined ? { meterStatusCode: err.statusCode } : {}),
      };
    }
  }

  private unsentRead(
    payload: ReadCommandPayload,
    failure: CommandFailure,
    meterNumber = '',
  ): ReadCommandResult {
    return {
      meterId: payload.meterId,
      meterNumber,
      communicationStatus: 'failed',
      readings: [],
      responseTime: 0,
      ...failure,
    };
  }

  private async completeRead(payload: ReadCommandPayload, result: ReadCommandResult): Promise<void> {
    if (!payload.commandId) return;
    await this.audit.complete(payload.commandId, {
      status: result.communicationStatus !== 'failed' ? 'success' : 'failed',
      error: result.error ?? null,
      responseTimeMs: result.responseTime,
    });
  }
}

function isPast(notAfter: number | undefined): boolean {
  return notAfter !== undefined && Date.now() > notAfter;
}

/** Why a command did not reach its meter. */
interface CommandFailure {
  error: string;
  failureKind: string;
}

function notFound(): CommandFailure {
  return { error: 'meter not found (deleted)', failureKind: COMMAND_FAILURE.NOT_FOUND };
}

function expired(): CommandFailure {
  return {
    error: 'not started before the requester stopped waiting; the meter was not contacted',
    failureKind: COMMAND_FAILURE.EXPIRED,
  };
}

function busy(err: MeterBusyError): CommandFailure {
  return { error: `${err.message}; the meter was not contacted`, failureKind: COMMAND_FAILURE.BUSY };
}
