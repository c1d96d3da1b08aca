import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsDateString, IsIn, IsOptional, IsString, Matches } from 'class-validator';
import { USER_ROLES, type UserRole } from '@app/database';
import { AreaIdsProperty } from '../users/users.dto';

export const API_KEY_NAME_PATTERN = /^[A-Za-z0-9 ._-]{3,64}$/;

export class CreateApiKeyDto {
  @ApiProperty({ example: 'billing-integration', pattern: API_KEY_NAME_PATTERN.source })
  @IsString()
  @Matches(API_KEY_NAME_PATTERN, { message: 'name must be 3-64 letters, digits, spaces, ".", "_" or "-"' })
  name!: string;

  @ApiProperty({ enum: USER_ROLES })
  @IsIn(USER_ROLES)
  role!: UserRole;

  @AreaIdsProperty()
  areaIds?: string[];

  @ApiPropertyOptional({
    type: String,
    format: 'date-time',
    description: 'After this instant the key is refused; absent: no expiry',
  })
  @IsOptional()
  @IsDateString({ strict: true }, { message: 'expiresAt must be an ISO 8601 date-time' })
  expiresAt?: string;
}

export class CreatedApiKeyDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ description: 'The secret: shown this once, only its hash is stored' }) key!: string;
}

export class ApiKeyDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ description: 'The first characters of the key, to recognise it' }) prefix!: string;
  @ApiProperty({ enum: USER_ROLES }) role!: UserRole;
  @ApiProperty({ type: [String], format: 'uuid', description: 'Empty: fleet-wide' }) areaIds!: string[];
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) expiresAt!: Date | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) lastUsedAt!: Date | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) revokedAt!: Date | null;
  @ApiProperty({ type: String, format: 'uuid', nullable: true }) createdBy!: string | null;
  @ApiProperty({ type: String, format: 'date-time' }) createdAt!: Date;
}
