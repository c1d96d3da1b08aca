import { ApiProperty, ApiPropertyOptional, type ApiPropertyOptions } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsOptional,
  IsString,
  IsUUID,
  Matches,
  MaxLength,
  MinLength,
} from 'class-validator';

/** Areas one user or key may be given (a region's worth; more is fleet-wide in practice). */
export const MAX_AREAS_PER_PRINCIPAL = 100;

const AREA_IDS_PROPERTY: ApiPropertyOptions = {
  type: [String],
  format: 'uuid',
  maxItems: MAX_AREAS_PER_PRINCIPAL,
  description:
    'Areas (ids) this account may see and act on; empty or absent means fleet-wide. Not for admins.',
};

/** `areaIds`: up to MAX_AREAS_PER_PRINCIPAL area uuids. */
export function AreaIdsProperty(): PropertyDecorator {
  return (target, key) => {
    for (const decorate of [
      ApiPropertyOptional(AREA_IDS_PROPERTY),
      IsOptional(),
      IsArray(),
      ArrayMaxSize(MAX_AREAS_PER_PRINCIPAL),
      IsUUID('all', { each: true, message: 'each of areaIds must be an area id (uuid)' }),
    ]) {
      decorate(target, key);
    }
  };
}
import { USER_ROLES, type UserRole } from '@app/database';

export const USERNAME_PATTERN = /^[A-Za-z0-9._-]{3,64}$/;

export class CreateUserDto {
  @ApiProperty({ example: 'jane.operator', pattern: USERNAME_PATTERN.source })
  @IsString()
  @Matches(USERNAME_PATTERN, { message: 'username must be 3-64 letters, digits, ".", "_" or "-"' })
  username!: string;

  @ApiProperty({ minLength: 8, maxLength: 128, format: 'password' })
  @IsString()
  @MinLength(8)
  @MaxLength(128)
  password!: string;

  @ApiProperty({ enum: USER_ROLES })
  @IsIn(USER_ROLES)
  role!: UserRole;

  @AreaIdsProperty()
  areaIds?: string[];
}

export class UpdateUserDto {
  @ApiPropertyOptional({ minLength: 8, maxLength: 128, format: 'password' })
  @IsOptional()
  @IsString()
  @MinLength(8)
  @MaxLength(128)
  password?: string;

  @ApiPropertyOptional({ enum: USER_ROLES })
  @IsOptional()
  @IsIn(USER_ROLES)
  role?: UserRole;

  @ApiPropertyOptional()
  @IsOptional()
  @IsBoolean()
  isActive?: boolean;

  @AreaIdsProperty()
  areaIds?: string[];
}

export class UserDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() username!: string;
  @ApiProperty({ enum: USER_ROLES }) role!: UserRole;
  @ApiProperty() isActive!: boolean;
  @ApiProperty({ type: [String], format: 'uuid', description: 'Empty: fleet-wide' }) areaIds!: string[];
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) lastLoginAt!: Date | null;
  @ApiProperty({ type: String, format: 'date-time' }) createdAt!: Date;
  @ApiProperty({ type: String, format: 'date-time' }) updatedAt!: Date;
}
