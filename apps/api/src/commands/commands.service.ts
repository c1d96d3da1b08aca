import {
  COMMAND_JOBS,
  type ReadCommandPayload,
  type ReadCommandResult,
  type WriteCommandPayload,
  type WriteCommandResult,
} from '@app/contracts';
import { canonicalObisCode, validateWriteValue } from '@app/obis';
import { BadRequestException, HttpException, Injectable } from '@nestjs/common';
import type { AccessScope } from '../auth/access-scope';
import type { AuthUser } from '../auth/auth-user';
import { MetersService } from '../meters/meters.service';
import { CommandDispatcher } from './command-dispatcher';
import { failureToHttp, writeRefusalToHttp } from './command-errors';
import { canonicalCodes, CommandPolicy, type CommandTarget } from './command-policy';
import type { CommandRecordDto, ReadObisResultDto, WriteObisResultDto } from './commands.dto';
import { CommandsRepository, type CommandRecordRow } from './commands.repository';

export { canonicalCodes } from './command-policy';
export { failureToHttp } from './command-errors';

/**
 * On-demand commands, as a sequence: find the meter in the caller's scope, check it may be contacted
 * (CommandPolicy), record the request in the command history (meter_commands), run it through the queue
 * (CommandDispatcher) and map the worker's result to an answer (command-errors). The api never talks to
 * meters.
 */
@Injectable()
export class CommandsService {
  constructor(
    private readonly dispatcher: CommandDispatcher,
    private readonly policy: CommandPolicy,
    private readonly repository: CommandsRepository,
    private readonly meters: MetersService,
  ) {}

  async readObis(
    idOrNumber: string,
    obisCodes: string[] | undefined,
    user: AuthUser,
    scope: AccessScope,
  ): Promise<ReadObisResultDto> {
    const meter: CommandTarget = await this.meters.getByIdOrNumber(idOrNumber, scope);
    const codes = canonicalCodes(obisCodes ?? []);
    const requestedCodes = codes.length > 0 ? codes.join(',') : null;
    const refusal = this.policy.refusalFor(meter);
    if (refusal) return this.reject(meter, 'read', requestedCodes, null, user, refusal);
    const commandId = await this.repository.create({
      meterId: meter.id,
      commandType: 'read',
      obisCode: requestedCodes,
      newValue: null,
      requestedBy: user,
      status: 'pending',
    });
    const { notAfter, waitMs } = this.dispatcher.deadlines();
    const payload: ReadCommandPayload = {
      meterId: meter.id,
      ...(codes.length > 0 ? { obisCodes: codes } : {}),
      requestedBy: user.id,
      commandId,
      notAfter,
    };
    const result = await this.dispatcher.run<ReadCommandResult>(
      COMMAND_JOBS.READ,
      payload,
      commandId,
      waitMs,
      meter.meterNumber,
    );
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
    scope: AccessScope,
  ): Promise<WriteObisResultDto> {
    const meter: CommandTarget = await this.meters.getByIdOrNumber(idOrNumber, scope);
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
    const refusal = this.policy.refusalFor(meter);
    if (refusal) return this.reject(meter, 'write', check.code, String(value), user, refusal);
    const commandId = await this.repository.create({
      meterId: meter.id,
      commandType: 'write',
      obisCode: check.code,
      newValue: String(check.value),
      requestedBy: user,
      status: 'pending',
    });
    const { notAfter, waitMs } = this.dispatcher.deadlines();
    const payload: WriteCommandPayload = {
      meterId: meter.id,
      commandId,
      obisCode: check.code,
      value: check.value,
      requestedBy: user.id,
      notAfter,
    };
    const result = await this.dispatcher.run<WriteCommandResult>(
      COMMAND_JOBS.WRITE,
      payload,
      commandId,
      waitMs,
      meter.meterNumber,
    );
    if (!result.success) throw writeRefusalToHttp(result, meter.meterNumber);
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
    scope: AccessScope,
  ): Promise<{ rows: CommandRecordDto[]; total: number }> {
    const meter = await this.meters.getByIdOrNumber(idOrNumber, scope);
    const { rows, total } = await this.repository.listForMeter(meter.id, page, limit);
    return { rows: rows.map(toRecordDto), total };
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
      requestedBy: user,
      status: 'rejected',
      error: refusal.message,
    });
    throw refusal;
  }
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
    requestedBy: { id: row.requestedById, username: row.requestedByUsername, kind: row.requestedByKind },
    requestedAt: row.requestedAt.toISOString(),
    completedAt: row.completedAt ? row.completedAt.toISOString() : null,
  };
}
