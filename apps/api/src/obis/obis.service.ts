import type { ObisCatalogEntry } from '@app/database';
import { canonicalObisCode, findObisDefinition, OBIS_CATALOG } from '@app/obis';
import {
  BadRequestException,
  Injectable,
  Logger,
  NotFoundException,
  OnApplicationBootstrap,
} from '@nestjs/common';
import type { ObisDefinitionDto } from './obis.dto';
import { ObisCatalogFilter, ObisRepository } from './obis.repository';

@Injectable()
export class ObisService implements OnApplicationBootstrap {
  private readonly logger = new Logger(ObisService.name);

  constructor(private readonly repository: ObisRepository) {}

  /** The table follows the code's catalog: refreshed at every api start-up (idempotent). */
  async onApplicationBootstrap(): Promise<void> {
    await this.repository.upsertAll(OBIS_CATALOG);
    this.logger.log(`OBIS catalog up to date (${OBIS_CATALOG.length} codes)`);
  }

  async list(filter: ObisCatalogFilter): Promise<ObisDefinitionDto[]> {
    const rows = await this.repository.list(filter);
    return rows.map(toDto);
  }

  /** Any accepted spelling (`1.8.0`, `0100010800FF`, …) finds the canonical entry. */
  async get(code: string): Promise<ObisDefinitionDto> {
    const canonical = canonicalObisCode(code);
    if (canonical === null) {
      throw new BadRequestException(`${code} is not an OBIS code (expected A-B:C.D.E.F, e.g. 1-0:1.8.0.255)`);
    }
    const row = await this.repository.findByCode(canonical);
    if (!row) throw new NotFoundException(`OBIS code ${canonical} is not in the catalog`);
    return toDto(row);
  }
}

function toDto(row: ObisCatalogEntry): ObisDefinitionDto {
  const enumValues = findObisDefinition(row.code)?.enumValues;
  return {
    code: row.code,
    name: row.name,
    unit: row.unit,
    defaultScaler: row.defaultScaler,
    classId: row.classId,
    attribute: row.attribute,
    access: row.access,
    valueType: row.valueType,
    isDefault: row.isDefault,
    ...(enumValues ? { enumValues: [...enumValues] } : {}),
    description: row.description,
  };
}
