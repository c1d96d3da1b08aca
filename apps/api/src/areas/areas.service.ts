import {
  BadRequestException,
  ConflictException,
  ForbiddenException,
  Injectable,
  NotFoundException,
} from '@nestjs/common';
import type { Area, UserRole } from '@app/database';
import type { AccessScope } from '../auth/access-scope';
import { isUuid, pgConstraint, pgErrorCode, PG_FOREIGN_KEY_VIOLATION, PG_UNIQUE_VIOLATION } from '../common';
import { AreaDto, AREA_CODE_PATTERN, CreateAreaDto, UpdateAreaDto } from './areas.dto';
import { AreasRepository, AreaWithCount } from './areas.repository';

export function toAreaDto(area: AreaWithCount): AreaDto {
  return {
    id: area.id,
    name: area.name,
    code: area.code,
    description: area.description,
    meterCount: area.meterCount,
    createdAt: area.createdAt,
    updatedAt: area.updatedAt,
  };
}

@Injectable()
export class AreasService {
  constructor(private readonly repo: AreasRepository) {}

  /**
   * By uuid or by code, within `scope`; undefined when there is no such area in it (or the reference is
   * malformed).
   */
  async findByIdOrCode(ref: string, scope: AccessScope): Promise<AreaWithCount | undefined> {
    if (isUuid(ref)) return this.repo.findById(ref.toLowerCase(), scope);
    if (AREA_CODE_PATTERN.test(ref)) return this.repo.findByCode(ref, scope);
    return undefined;
  }

  async getByIdOrCode(ref: string, scope: AccessScope): Promise<AreaWithCount> {
    const area = await this.findByIdOrCode(ref, scope);
    if (!area) throw new NotFoundException(`Area "${ref}" not found`);
    return area;
  }

  list(page: number, limit: number, scope: AccessScope): Promise<{ rows: AreaWithCount[]; total: number }> {
    return this.repo.list((page - 1) * limit, limit, scope);
  }

  /**
   * The areas to give a user or an API key, checked: every id names an area (400 otherwise), and admins
   * are fleet-wide (they manage users and keys, so an area-bound admin would be a false promise).
   * Returns them lowercased and de-duplicated.
   */
  async assignable(role: UserRole, areaIds: readonly string[]): Promise<string[]> {
    const ids = [...new Set(areaIds.map((id) => id.toLowerCase()))];
    if (role === 'admin' && ids.length > 0) {
      throw new BadRequestException('Admins are fleet-wide: give areaIds only to operators and viewers');
    }
    const missing = await this.repo.missing(ids);
    if (missing.length > 0) throw new BadRequestException(`No such area(s): ${missing.join(', ')}`);
    return ids;
  }

  async create(dto: CreateAreaDto, scope: AccessScope): Promise<AreaWithCount> {
    // A new area would be outside the creator's own areas at once.
    if (!scope.isFleetWide) throw new ForbiddenException('Creating areas needs a fleet-wide account');
    try {
      const area = await this.repo.insert({
        name: dto.name,
        code: dto.code,
        description: dto.description ?? null,
      });
      return { ...area, meterCount: 0 };
    } catch (err) {
      throw this.uniqueConflict(err, dto);
    }
  }

  async update(ref: string, dto: UpdateAreaDto, scope: AccessScope): Promise<AreaWithCount> {
    const current = await this.getByIdOrCode(ref, scope);
    const changes: Partial<Area> = {};
    if (dto.name !== undefined) changes.name = dto.name;
    if (dto.code !== undefined) changes.code = dto.code;
    if (dto.description !== undefined) changes.description = dto.description;
    let updated: Area | undefined;
    try {
      updated = await this.repo.update(current.id, changes);
    } catch (err) {
      throw this.uniqueConflict(err, dto);
    }
    if (!updated) throw new NotFoundException(`Area "${ref}" not found`);
    return { ...updated, meterCount: current.meterCount };
  }

  async remove(ref: string, scope: AccessScope): Promise<AreaWithCount> {
    const area = await this.getByIdOrCode(ref, scope);
    let result: Awaited<ReturnType<AreasRepository['deleteIfUnused']>>;
    try {
      result = await this.repo.deleteIfUnused(area.id);
    } catch (err) {
      if (pgErrorCode(err) === PG_FOREIGN_KEY_VIOLATION) {
        throw new ConflictException(`Area "${area.code}" has meters; move or delete them first`);
      }
      throw err;
    }
    if (result === 'not-found') throw new NotFoundException(`Area "${ref}" not found`);
    if (result !== 'deleted') {
      throw new ConflictException(
        result.liveMeters > 0
          ? `Area "${area.code}" has ${result.liveMeters} meter(s); move or delete them first`
          : `Area "${area.code}" is referenced by ${result.deletedMeters} deleted meter(s) kept for their ` +
              'reading history; it cannot be deleted (rename it instead)',
      );
    }
    return area;
  }

  private uniqueConflict(err: unknown, dto: { name?: string; code?: string }): unknown {
    if (pgErrorCode(err) !== PG_UNIQUE_VIOLATION) return err;
    const constraint = pgConstraint(err) ?? '';
    if (constraint.includes('code'))
      return new ConflictException(`An area with code "${dto.code}" already exists`);
    return new ConflictException(`An area named "${dto.name}" already exists`);
  }
}
