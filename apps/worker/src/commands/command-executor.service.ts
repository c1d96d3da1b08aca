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

  async read(payload: ReadCommandPayload): Promise<ReadCommandResult> {
    const prepared = await this.prepare(payload.meterId, payload.notAfter);
    if ('failure' in prepared) return this.finishRead(payload, this.unsentRead(payload, prepared.failure));
    const { meter, waitMs } = prepared;
    let result: ReadCommandResult;
    try {
      result = await this.locks.withMeterLock(
        meter.id,
        async () => {
          if (isPast(payload.notAfter)) return this.unsentRead(payload, expired(), meter.meterNumber);
          return this.reads.read(meter, payload.obisCodes);
        },
        { waitMs },
      );
    } catch (err) {
      if (!(err instanceof MeterBusyError)) throw err;
      result = this.unsentRead(payload, busy(err), meter.meterNumber);
    }
    return this.finishRead(payload, result);
  }

  async write(payload: WriteCommandPayload): Promise<WriteCommandResult> {
    const base = { obisCode: payload.obisCode, value: payload.value };
    const prepared = await this.prepare(payload.meterId, payload.notAfter);
    let result: WriteCommandResult;
    if ('failure' in prepared) {
      result = { ...base, success: false, responseTime: 0, ...prepared.failure };
    } else {
      const { meter, waitMs } = prepared;
      try {
        result = await this.locks.withMeterLock(meter.id, () => this.writeLocked(meter, payload), { waitMs });
      } catch (err) {
        if (!(err instanceof MeterBusyError)) throw err;
        result = { ...base, success: false, responseTime: 0, ...busy(err) };
      }
    }
    await this.audit.complete(payload.commandId, {
      status: result.success ? 'success' : 'failed',
      oldValue:
        result.previousValue === undefined || result.previousValue === null
          ? null
          : String(result.previousValue),
      error: result.success ? null : (result.error ?? 'the meter refused the write'),
      responseTimeMs: result.responseTime,
    });
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

  /** The meter and how long its lock may be waited for, or why the command must not go ahead. */
  private async prepare(
    meterId: string,
    notAfter: number | undefined,
  ): Promise<{ meter: PolledMeter; waitMs: number } | { failure: { error: string; failureKind: string } }> {
    if (isPast(notAfter)) return { failure: expired() };
    const meter = await this.meters.findPolledMeter(meterId);
    if (!meter)
      return { failure: { error: 'meter not found (deleted)', failureKind: COMMAND_FAILURE.NOT_FOUND } };
    return { meter, waitMs: notAfter === undefined ? 0 : Math.max(0, notAfter - Date.now()) };
  }

  private unsentRead(
    payload: ReadCommandPayload,
    failure: { error: string; failureKind: string },
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

  private async finishRead(
    payload: ReadCommandPayload,
    result: ReadCommandResult,
  ): Promise<ReadCommandResult> {
    if (payload.commandId) {
      const ok = result.communicationStatus !== 'failed';
      await this.audit.complete(payload.commandId, {
        status: ok ? 'success' : 'failed',
        error: result.error ?? null,
        responseTimeMs: result.responseTime,
      });
    }
    return result;
  }
}

function isPast(notAfter: number | undefined): boolean {
  return notAfter !== undefined && Date.now() > notAfter;
}

function expired() {
  return {
    error: 'not started before the requester stopped waiting; the meter was not contacted',
    failureKind: COMMAND_FAILURE.EXPIRED,
  };
}

function busy(err: MeterBusyError) {
  return { error: `${err.message}; the meter was not contacted`, failureKind: COMMAND_FAILURE.BUSY };
}
