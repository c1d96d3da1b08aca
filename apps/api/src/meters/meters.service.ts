import { BadRequestException, ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { Meter, MeterStatus, NewMeter } from '@app/database';
import { canonicalMeterAddress, MeterAddressPolicy } from '@app/meter-network';
import { canonicalObisCode } from '@app/obis';
import { MeterEventsPublisher } from '@app/realtime-publisher';
import { AreasService } from '../areas/areas.service';
import type { AccessScope } from '../auth/access-scope';
import type { AuthUser } from '../auth/auth-user';
import { isUuid, pgErrorCode, PG_UNIQUE_VIOLATION } from '../common';
import {
  BatchConfigurationResultDto,
  ConfigureOnlineDto,
  CreateMeterDto,
  EnableAllOnlineDto,
  ListMetersQueryDto,
  METER_NUMBER_PATTERN,
  MeterDto,
  MeterPageDto,
  UpdateMeterDto,
} from './meters.dto';
import { MetersRepository, MeterStatusChange, MeterView, OnlineConfiguration } from './meters.repository';

export function toMeterDto(meter: MeterView): MeterDto {
  return {
    id: meter.id,
    meterNumber: meter.meterNumber,
    meterType: meter.meterType,
    brand: meter.brand,
    model: meter.model,
    area: { id: meter.area.id, name: meter.area.name, code: meter.area.code },
    ipAddress: meter.ipAddress,
    port: meter.port,
    status: meter.status,
    firmware: meter.firmware,
    obisCodes: meter.obisCodes,
    lastSeen: meter.lastSeen,
    createdAt: meter.createdAt,
    updatedAt: meter.updatedAt,
  };
}

/** Canonical, de-duplicated (first occurrence kept); the DTO has already rejected invalid codes. */
export function canonicalObisList(codes: string[]): string[] {
  return [...new Set(codes.map((c) => canonicalObisCode(c)!))];
}

const MAX_UNMATCHED_SHOWN = 20;
/** Matches counted exactly per list request; beyond, the total is PostgreSQL's estimate. */
export const METER_COUNT_CAP = 1000;

function meterPage(
  data: MeterDto[],
  count: { total: number; exact: boolean },
  query: ListMetersQueryDto,
): MeterPageDto {
  const { limit, page } = query;
  return {
    success: true,
    data,
    pagination: {
      total: count.total,
      page,
      pages: Math.ceil(count.total / limit),
      limit,
      totalExact: count.exact,
      nextCursor: data.length === limit ? data[data.length - 1].meterNumber : null,
    },
  };
}

@Injectable()
export class MetersService {
  private readonly addressPolicy: MeterAddressPolicy;
  private readonly defaultHost: string;
  private readonly defaultPort: number;

  constructor(
    private readonly repo: MetersRepository,
    private readonly areas: AreasService,
    private readonly events: MeterEventsPublisher,
    config: ConfigService,
  ) {
    this.addressPolicy = MeterAddressPolicy.parse(
      config.getOrThrow<string>('METER_ALLOWED_NETWORKS'),
      config.getOrThrow<string>('METER_ALLOWED_PORTS'),
    );
    this.defaultHost = config.getOrThrow<string>('METER_HOST');
    this.defaultPort = config.getOrThrow<number>('METER_PORT');
  }

  /**
   * A live meter by uuid or by meter number, within the caller's scope. 404 for a soft-deleted meter, an
   * unknown one, one outside the scope or a reference that is neither a uuid nor a valid meter number
   * (never a 500).
   */
  async getByIdOrNumber(idOrNumber: string, scope: AccessScope): Promise<Meter> {
    const meter = await this.findByIdOrNumber(idOrNumber, scope);
    if (!meter) throw new NotFoundException(`Meter "${idOrNumber}" not found`);
    return meter;
  }

  async findByIdOrNumber(idOrNumber: string, scope: AccessScope): Promise<Meter | undefined> {
    if (isUuid(idOrNumber)) return this.repo.findLiveById(idOrNumber.toLowerCase(), scope);
    if (METER_NUMBER_PATTERN.test(idOrNumber)) return this.repo.findLiveByNumber(idOrNumber, scope);
    return undefined;
  }

  async getView(idOrNumber: string, scope: AccessScope): Promise<MeterDto> {
    const view = isUuid(idOrNumber)
      ? await this.repo.findLiveView({ id: idOrNumber.toLowerCase() }, scope)
      : METER_NUMBER_PATTERN.test(idOrNumber)
        ? await this.repo.findLiveView({ meterNumber: idOrNumber }, scope)
        : undefined;
    if (!view) throw new NotFoundException(`Meter "${idOrNumber}" not found`);
    return view;
  }

  /**
   * A page of live meters in meterNumber order. `cursor` (the previous page's nextCursor) continues by
   * keyset whatever the depth; `page` works too (offset). total is exact up to METER_COUNT_CAP matches and
   * an estimate beyond (totalExact false): a broad filter must not count the whole fleet per request.
   */
  async list(query: ListMetersQueryDto, scope: AccessScope): Promise<MeterPageDto> {
    let areaId: string | undefined;
    if (query.area) {
      const area = await this.areas.findByIdOrCode(query.area, scope);
      if (!area) return meterPage([], { total: 0, exact: true }, query);
      areaId = area.id;
    }
    const filter = { status: query.status, areaId, brand: query.brand, search: query.search };
    const { rows, matched } = await this.repo.list(
      filter,
      { offset: (query.page - 1) * query.limit, limit: query.limit, after: query.cursor },
      METER_COUNT_CAP,
      scope,
    );
    // An empty page past the first carries no count: the matches are counted on their own then.
    const count =
      matched !== null
        ? await this.repo.totalOf(filter, matched, METER_COUNT_CAP, scope)
        : query.page === 1 && query.cursor === undefined
          ? { total: 0, exact: true }
          : await this.repo.countUpTo(filter, METER_COUNT_CAP, scope);
    // The rows are already in MeterDto's shape (MeterView), not copied again.
    return meterPage(rows, count, query);
  }

  async create(dto: CreateMeterDto, scope: AccessScope): Promise<MeterDto> {
    const areaId = await this.resolveArea(dto.area, scope);
    const { ipAddress, port } = this.checkAddress(dto);
    const meter: NewMeter = {
      meterNumber: dto.meterNumber,
      meterType: dto.meterType,
      brand: dto.brand,
      model: dto.model,
      areaId,
      ipAddress,
      port,
      status: dto.status ?? 'online',
      firmware: dto.firmware ?? null,
      obisCodes: dto.obisCodes ? canonicalObisList(dto.obisCodes) : null,
    };
    let created: Meter;
    try {
      created = await this.repo.insert(meter);
    } catch (err) {
      throw this.duplicateNumber(err, dto.meterNumber);
    }
    return this.viewOf(created.id, dto.meterNumber);
  }

  /** A status change is recorded (meter_events) with the update and published once it is committed. */
  async update(
    idOrNumber: string,
    dto: UpdateMeterDto,
    user: AuthUser,
    scope: AccessScope,
  ): Promise<MeterDto> {
    const current = await this.getByIdOrNumber(idOrNumber, scope);
    const changes: Partial<NewMeter> = {};
    if (dto.meterNumber !== undefined) changes.meterNumber = dto.meterNumber;
    if (dto.meterType !== undefined) changes.meterType = dto.meterType;
    if (dto.brand !== undefined) changes.brand = dto.brand;
    if (dto.model !== undefined) changes.model = dto.model;
    if (dto.area !== undefined) changes.areaId = await this.resolveArea(dto.area, scope);
    if (dto.ipAddress !== undefined || dto.port !== undefined) {
      const ipAddress = dto.ipAddress ?? current.ipAddress;
      const port = dto.port ?? current.port ?? this.defaultPort;
      // A port change on a meter without an address has nothing to check yet; the address will be.
      if (ipAddress !== null) Object.assign(changes, this.checkAddress({ ipAddress, port }));
      else changes.port = port;
    }
    if (dto.status !== undefined) changes.status = dto.status;
    if (dto.firmware !== undefined) changes.firmware = dto.firmware;
    if (dto.obisCodes !== undefined)
      changes.obisCodes = dto.obisCodes ? canonicalObisList(dto.obisCodes) : null;
    let updated: Awaited<ReturnType<MetersRepository['update']>>;
    try {
      updated = await this.repo.update(current.id, changes, `set by ${user.username}`);
    } catch (err) {
      throw this.duplicateNumber(err, dto.meterNumber ?? current.meterNumber);
    }
    if (!updated) throw new NotFoundException(`Meter "${idOrNumber}" not found`);
    if (updated.statusChange) this.publishStatusChanges([updated.statusChange]);
    return this.viewOf(updated.meter.id, idOrNumber);
  }

  async remove(idOrNumber: string, scope: AccessScope): Promise<MeterDto> {
    const meter = await this.getByIdOrNumber(idOrNumber, scope);
    const view = await this.viewOf(meter.id, idOrNumber);
    if (!(await this.repo.softDelete(meter.id)))
      throw new NotFoundException(`Meter "${idOrNumber}" not found`);
    return view;
  }

  async enableAllOnline(
    dto: EnableAllOnlineDto,
    user: AuthUser,
    scope: AccessScope,
  ): Promise<BatchConfigurationResultDto> {
    const configuration = this.onlineConfiguration(dto, 'online');
    const { statusChanges, ...counts } = await this.repo.enableAllOnline(
      configuration,
      `configured online by ${user.username}`,
      scope,
    );
    this.publishStatusChanges(statusChanges);
    return { ...counts, configuration };
  }

  /**
   * All or nothing: references that match no live meter in the caller's scope → 404 naming them, and
   * nothing is changed.
   */
  async configureOnline(
    dto: ConfigureOnlineDto,
    user: AuthUser,
    scope: AccessScope,
  ): Promise<BatchConfigurationResultDto> {
    const configuration = this.onlineConfiguration(dto, dto.status ?? 'online');
    const refs = [...new Set(dto.meterIds)];
    const ids = [...new Set(refs.filter(isUuid).map((id) => id.toLowerCase()))];
    // Anything that is not a uuid is looked up as a meter number (a malformed one simply matches nothing).
    const numbers = refs.filter((r) => !isUuid(r));
    const result = await this.repo.configureOnline(
      ids,
      numbers,
      configuration,
      `configured ${configuration.status} by ${user.username}`,
      scope,
    );
    if ('unmatchedIds' in result) {
      const unmatched = [...result.unmatchedIds, ...result.unmatchedNumbers];
      const shown = unmatched.slice(0, MAX_UNMATCHED_SHOWN).join(', ');
      const more =
        unmatched.length > MAX_UNMATCHED_SHOWN ? ` and ${unmatched.length - MAX_UNMATCHED_SHOWN} more` : '';
      throw new NotFoundException(
        `${unmatched.length} of ${refs.length} meter(s) not found, nothing was changed: ${shown}${more}`,
      );
    }
    const { statusChanges, ...counts } = result;
    this.publishStatusChanges(statusChanges);
    return { ...counts, configuration };
  }

  /** After commit only: to the meter's, its area's and the fleet room, like the workers' status changes. */
  private publishStatusChanges(changes: MeterStatusChange[]): void {
    for (const c of changes) {
      this.events.statusChanged(
        {
          meterId: c.meterId,
          meterNumber: c.meterNumber,
          status: c.status,
          previousStatus: c.previousStatus,
          reason: c.reason,
          lastSeen: c.lastSeen ? c.lastSeen.toISOString() : null,
          timestamp: c.changedAt.toISOString(),
        },
        c.areaId,
      );
    }
  }

  private onlineConfiguration(dto: EnableAllOnlineDto, status: MeterStatus): OnlineConfiguration {
    return { status, ...this.checkAddress(dto) };
  }

  /**
   * Meters are only ever stored with an address and port the worker is allowed to contact, in one spelling
   * (an IPv4-mapped IPv6 address as its IPv4 address). Unset fields take METER_HOST / METER_PORT.
   */
  private checkAddress(dto: { ipAddress?: string; port?: number }): { ipAddress: string; port: number } {
    const ipAddress = dto.ipAddress ?? this.defaultHost;
    const port = dto.port ?? this.defaultPort;
    const refusal = this.addressPolicy.refusal(ipAddress, port);
    if (!refusal) return { ipAddress: canonicalMeterAddress(ipAddress), port };
    const defaulted =
      refusal === 'port'
        ? dto.port === undefined && 'METER_PORT'
        : dto.ipAddress === undefined && 'METER_HOST';
    const from = defaulted ? ` (from the default ${defaulted})` : '';
    throw new BadRequestException(`${this.addressPolicy.describe(refusal, ipAddress, port)}${from}`);
  }

  /** An area outside the caller's scope is answered as one that does not exist. */
  private async resolveArea(ref: string, scope: AccessScope): Promise<string> {
    const area = await this.areas.findByIdOrCode(ref, scope);
    if (!area) throw new BadRequestException(`area "${ref}" does not exist (give an area id or code)`);
    return area.id;
  }

  private async viewOf(id: string, ref: string): Promise<MeterDto> {
    const meter = await this.repo.findLiveWithArea(id);
    if (!meter) throw new NotFoundException(`Meter "${ref}" not found`);
    return toMeterDto(meter);
  }

  private duplicateNumber(err: unknown, meterNumber: string): unknown {
    if (pgErrorCode(err) === PG_UNIQUE_VIOLATION) {
      return new ConflictException(`A meter with meterNumber "${meterNumber}" already exists`);
    }
    return err;
  }
}
