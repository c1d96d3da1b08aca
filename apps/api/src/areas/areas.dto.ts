import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsOptional, IsString, Matches, MaxLength, MinLength, ValidateIf } from 'class-validator';

export const AREA_CODE_PATTERN = /^[A-Za-z0-9_-]{1,32}$/;
const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);

export class CreateAreaDto {
  @ApiProperty({ example: 'Downtown', maxLength: 100 })
  @Transform(trim)
  @IsString()
  @MinLength(1)
  @MaxLength(100)
  name!: string;

  @ApiProperty({ example: 'DT-01', pattern: AREA_CODE_PATTERN.source })
  @IsString()
  @Matches(AREA_CODE_PATTERN, { message: 'code must be 1-32 letters, digits, "-" or "_"' })
  code!: string;

  @ApiPropertyOptional({ maxLength: 500, nullable: true })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  description?: string | null;
}

export class UpdateAreaDto {
  @ApiPropertyOptional({ maxLength: 100 })
  @ValidateIf((_, v) => v !== undefined)
  @Transform(trim)
  @IsString()
  @MinLength(1)
  @MaxLength(100)
  name?: string;

  @ApiPropertyOptional({ pattern: AREA_CODE_PATTERN.source })
  @ValidateIf((_, v) => v !== undefined)
  @IsString()
  @Matches(AREA_CODE_PATTERN, { message: 'code must be 1-32 letters, digits, "-" or "_"' })
  code?: string;

  @ApiPropertyOptional({ maxLength: 500, nullable: true })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  description?: string | null;
}

export class AreaDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() name!: string;
  @ApiProperty() code!: string;
  @ApiProperty({ type: String, nullable: true }) description!: string | null;
  @ApiProperty({ description: 'Live (not deleted) meters in the area' }) meterCount!: number;
  @ApiProperty({ type: String, format: 'date-time' }) createdAt!: Date;
  @ApiProperty({ type: String, format: 'date-time' }) updatedAt!: Date;
}
