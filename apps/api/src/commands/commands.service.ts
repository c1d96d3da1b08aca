import { unavailableDependency } from '../common/dependency-errors';
import {
  COMMAND_JOBS,
  QUEUES,
  type ReadCommandPayload,
  type ReadCommandResult,
  type WriteCommandPayload,
  type WriteCommandResult,
} from '@app/contracts';
import { DEFAULT_METER_PORT, MeterAddressPolicy } from '@app/meter-network';
import { canonicalObisCode, validateWriteValue } from '@app/obis';
import { InjectQueue } from '@nestjs/bullmq';
import {
  BadGatewayException,
  BadRequestException,
  ConflictException,
  GatewayTimeoutException,
  HttpException,
  Injectable,
  InternalServerErrorException,
  Logger,
  NotFoundException,
  ServiceUnavailableException,
} from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { Queue } from 'bullmq';
import type { AuthUser } from '../auth/auth-user';
import { MetersService } from '../meters/meters.service';
import { CommandQueueEvents, COMMAND_JOB_RETENTION, commandDeadlines } from './command-queue';
import type { CommandRecordDto, ReadObisResultDto, WriteObisResultDto } from './commands.dto';
import { CommandsRepository, type CommandRecordRow } from './commands.repository';

/** The meter fields a command needs (a subset of what MetersService returns). */
interface CommandTarget {
  id: string;
  meterNumber: string;
  status: string;
  ipAddress: string | null;
  port: number | null;
}

/** Only meters configured for online communication are contacted on demand; lifecycle states are not. */
const COMMANDABLE_STATUSES: ReadonlySet<string> = new Set(['online', 'offline']);

/**
 * Commands one api instance waits for at once. Beyond it new commands are refused with 503 rather than
 * piling up open requests and QueueEvents listeners; workers process 20 per process anyway.
 */
export const MAX_COMMANDS_IN_FLIGHT = 500;

/** HTTP statuses of a meter's refusal that are passed through as they are (the client's request was wrong). */
const PASSTHROUGH_REFUSALS: ReadonlySet<number> = new Set([400, 403, 409, 422]);

/** The worker gave up on the meter (or never reached it): what the caller is told. */
export function failureToHttp(kind: string | undefined, message: string, meterNumber: string): HttpException {
  switch (kind) {
    case 'timeout':
    case 'refused':
    case 'reset':
    case 'network':
      return new GatewayTimeoutException(`Meter ${meterNumber} is unreachable: ${message}`);
    case 'not-allowed':
      return new ConflictException(`Meter ${meterNumber} was not contacted: ${message}`);
    case 'expired':
      return new ServiceUnavailableException(
        `No worker could start the command on meter ${meterNumber} in time; the meter was not contacted`,
      );
    case 'busy':
      return new ServiceUnavailableException(
        `Meter ${meterNumber} stayed busy with another exchange: ${message}`,
      );
    case 'not-found':
      return new NotFoundException(`Meter ${meterNumber} no longer exists`);
    default:
      // http-error, invalid-response, too-large, or an answer without a single usable value
      return new BadGatewayException(`Meter ${meterNumber} gave no usable answer: ${message}`);
  }
}

class CommandWaitTimeout extends Error {}

/**
 * On-demand commands. The api never talks to meters: it records the request (meter_commands), puts a job
 * on the command queue (processed by workers apart from scheduled polls), waits for its result on the
 * instance's shared QueueEvents and maps it to an HTTP answer.
 */
@Injectable()
export class CommandsService {
  private readonly logger = new Logger(CommandsService.name);
  private readonly meterTimeoutMs: number;
  private readonly addressPolicy: MeterAddressPolicy;
  private inFlight = 0;

  constructor(
    @InjectQueue(QUEUES.COMMAND) private readonly queue: Queue,
    private readonly events: CommandQueueEvents,
    private readonly repository: CommandsRepository,
    private readonly meters: MetersService,
    config: ConfigService,
  ) {
    this.meterTimeoutMs = config.getOrThrow<number>('METER_TIMEOUT_MS');
    this.addressPolicy = MeterAddressPolicy.parse(
      config.getOrThrow<string>('METER_ALLOWED_NETWORKS'),
      config.getOrThrow<string>('METER_ALLOWED_PORTS'),
    );
    // Every waiting command listens for the queue closing.
    this.queue.setMaxListeners(MAX_COMMANDS_IN_FLIGHT + 10);
  }

  async readObis(
    idOrNumber: string,
    obisCodes: string[] | undefined,
    user: AuthUser,
  ): Promise<ReadObisResultDto> {
    const meter = await this.resolveMeter(idOrNumber);
    const codes = canonicalCodes(obisCodes ?? []);
    const requestedCodes = codes.length > 0 ? codes.join(',') : null;
    const refusal = this.refusalFor(meter);
    if (refusal) return this.reject(meter, 'read', requestedCodes, null, user, refusal);
    const commandId = await this.repository.create({
      meterId: meter.id,
      commandType: 'read',
      obisCode: requestedCodes,
      newValue: null,
      requestedBy: user.id,
      status: 'pending',
    });
    const { notAfter, waitMs } = commandDeadlines(this.meterTimeoutMs);
    const payload: ReadCommandPayload = {
      meterId: meter.id,
      ...(codes.length > 0 ? { obisCodes: codes } : {}),
      requestedBy: user.id,
      commandId,
      notAfter,
    };
    const result = await this.run<ReadCommandResult>(COMMAND_JOBS.READ, payload, commandId, waitMs, meter);
    if (result.communicationStatus === 'failed') {
      throw failureToHttp(result.failureKind, result.error ?? 'no usable value', meter.meterNumber);
    }
    return {
      commandId,
      meterId: meter.id,
      meterNumber: meter.meterNumber,
      communicationStatus: result.communicationStatus,
      readings: result.readings,
      responseTime: result.responseTime,
      readAt: result.readAt ?? new Date().toISOString(),
      ...(result.error ? { error: result.error } : {}),
    };
  }

  async writeObis(
    idOrNumber: string,
    obisCode: string,
    value: string | number | boolean,
    user: AuthUser,
  ): Promise<WriteObisResultDto> {
    const meter = await this.resolveMeter(idOrNumber);
    const check = validateWriteValue(obisCode, value);
    if (!check.ok) {
      const auditedCode = canonicalObisCode(obisCode) ?? obisCode.trim();
      return this.reject(
        meter,
        'write',
        auditedCode,
        String(value),
        user,
        new BadRequestException(check.error),
      );
    }
    const refusal = this.refusalFor(meter);
    if (refusal) return this.reject(meter, 'write', check.code, String(value), user, refusal);
    const commandId = await this.repository.create({
      meterId: meter.id,
      commandType: 'write',
      obisCode: check.code,
      newValue: String(check.value),
      requestedBy: user.id,
      status: 'pending',
    });
    const { notAfter, waitMs } = commandDeadlines(this.meterTimeoutMs);
    const payload: WriteCommandPayload = {
      meterId: meter.id,
      commandId,
      obisCode: check.code,
      value: check.value,
      requestedBy: user.id,
      notAfter,
    };
    const result = await this.run<WriteCommandResult>(COMMAND_JOBS.WRITE, payload, commandId, waitMs, meter);
    if (!result.success) {
      const reason = result.error ?? 'the meter refused the write';
      if (result.failureKind) throw failureToHttp(result.failureKind, reason, meter.meterNumber);
      if (result.meterStatusCode !== undefined && PASSTHROUGH_REFUSALS.has(result.meterStatusCode)) {
        throw new HttpException(
          `Meter ${meter.meterNumber} refused the write: ${reason}`,
          result.meterStatusCode,
        );
      }
      throw new BadGatewayException(`Meter ${meter.meterNumber} refused the write: ${reason}`);
    }
    return {
      commandId,
      meterId: meter.id,
      meterNumber: meter.meterNumber,
      obisCode: check.code,
      value: check.value,
      previousValue: result.previousValue ?? null,
      responseTime: result.responseTime,
    };
  }

  async listCommands(
    idOrNumber: string,
    page: number,
    limit: number,
  ): Promise<{ rows: CommandRecordDto[]; total: number }> {
    const meter = await this.meters.getByIdOrNumber(idOrNumber);
    const { rows, total } = await this.repository.listForMeter(meter.id, page, limit);
    return { rows: rows.map(toRecordDto), total };
  }

  private async resolveMeter(idOrNumber: string): Promise<CommandTarget> {
    const meter: CommandTarget = await this.meters.getByIdOrNumber(idOrNumber);
    return meter;
  }

  /** Records a command refused before any meter was contacted (status rejected), then refuses it. */
  private async reject(
    meter: CommandTarget,
    commandType: 'read' | 'write',
    obisCode: string | null,
    newValue: string | null,
    user: AuthUser,
    refusal: HttpException,
  ): Promise<never> {
    await this.repository.create({
      meterId: meter.id,
      commandType,
      obisCode,
      newValue,
      requestedBy: user.id,
      status: 'rejected',
      error: refusal.message,
    });
    throw refusal;
  }

  /** Why this meter must not be contacted now, or null. Checked before anything is queued. */
  private refusalFor(meter: CommandTarget): HttpException | null {
    if (!COMMANDABLE_STATUSES.has(meter.status)) {
      return new ConflictException(
        `Meter ${meter.meterNumber} is '${meter.status}'; on-demand commands need a meter configured for ` +
          `online communication (status online or offline)`,
      );
    }
    if (!meter.ipAddress)
      return new ConflictException(`Meter ${meter.meterNumber} has no IP address configured`);
    // Judged as the worker would contact it.
    const port = meter.port ?? DEFAULT_METER_PORT;
    const refusal = this.addressPolicy.refusal(meter.ipAddress, port);
    if (refusal) {
      return new ConflictException(
        `Meter ${meter.meterNumber}: ${this.addressPolicy.describe(refusal, meter.ipAddress, port)}; not contacted`,
      );
    }
    return null;
  }

  /** Enqueues one command and waits for the worker's answer; attempts 1: a write is never retried blindly. */
  private async run<R>(
    name: string,
    payload: ReadCommandPayload | WriteCommandPayload,
    commandId: string,
    waitMs: number,
    meter: CommandTarget,
  ): Promise<R> {
    if (this.inFlight >= MAX_COMMANDS_IN_FLIGHT) {
      await this.repository.failIfPending(
        commandId,
        'refused: too many commands in flight on this api instance',
      );
      throw new ServiceUnavailableException('Too many meter commands in flight; try again shortly');
    }
    this.inFlight++;
    try {
      return await this.enqueueAndWait<R>(name, payload, commandId, waitMs, meter);
    } finally {
      this.inFlight--;
    }
  }

  private async enqueueAndWait<R>(
    name: string,
    payload: ReadCommandPayload | WriteCommandPayload,
    commandId: string,
    waitMs: number,
    meter: CommandTarget,
  ): Promise<R> {
    const job = await this.queue.add(name, payload, {
      jobId: commandId,
      attempts: 1,
      ...COMMAND_JOB_RETENTION,
    });
    try {
      return (await job.waitUntilFinished(this.events.queueEvents, waitMs).catch((err: Error) => {
        throw /timed out before finishing/.test(err.message) ? new CommandWaitTimeout(err.message) : err;
      })) as R;
    } catch (err) {
      if (err instanceof CommandWaitTimeout) {
        await this.repository.failIfPending(commandId, `no result within ${waitMs} ms`);
        throw new GatewayTimeoutException(
          `Meter ${meter.meterNumber}: the command did not complete within ${waitMs} ms; ` +
            `its outcome will appear in the meter's command history`,
        );
      }
      // Redis (or PostgreSQL) went away while we waited: the filter answers 503 naming it; the sweeper
      // completes the command record once the worker's result is known to be lost.
      if (unavailableDependency(err)) throw err;
      const reason = err instanceof Error ? err.message : String(err);
      this.logger.error(
        `${name} command ${commandId} on meter ${meter.meterNumber} failed in the worker: ${reason}`,
      );
      await this.repository.failIfPending(commandId, `worker error: ${reason}`);
      throw new InternalServerErrorException(`The ${name} command failed in the worker: ${reason}`);
    }
  }
}

/** Canonical, de-duplicated codes in request order; any malformed one is a 400 naming all of them. */
export function canonicalCodes(codes: readonly string[]): string[] {
  const bad: string[] = [];
  const out = new Set<string>();
  for (const code of codes) {
    const canonical = canonicalObisCode(code);
    if (canonical === null) bad.push(JSON.stringify(code));
    else out.add(canonical);
  }
  if (bad.length > 0) {
    throw new BadRequestException(
      `Not OBIS codes: ${bad.join(', ')} (expected A-B:C.D.E.F such as 1-0:1.8.0.255)`,
    );
  }
  return [...out];
}

function toRecordDto(row: CommandRecordRow): CommandRecordDto {
  return {
    id: row.id,
    meterId: row.meterId,
    meterNumber: row.meterNumber,
    commandType: row.commandType,
    obisCode: row.obisCode,
    oldValue: row.oldValue,
    newValue: row.newValue,
    status: row.status,
    error: row.error,
    responseTime: row.responseTimeMs,
    requestedBy: { id: row.requestedById, username: row.requestedByUsername },
    requestedAt: row.requestedAt.toISOString(),
    completedAt: row.completedAt ? row.completedAt.toISOString() : null,
  };
}
