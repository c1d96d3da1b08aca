import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsOptional } from 'class-validator';

/** `?access=R|RW&default=true|false`. */
export class ObisListQueryDto {
  @ApiPropertyOptional({ enum: ['R', 'RW'], description: 'Only read-only (R) or writable (RW) codes' })
  @IsOptional()
  @Transform(({ value }) => (typeof value === 'string' ? value.toUpperCase() : value))
  @IsIn(['R', 'RW'])
  access?: 'R' | 'RW';

  @ApiPropertyOptional({ description: "Only the seed guide's 17 default codes (true) or the others (false)" })
  @IsOptional()
  @Transform(({ value }) => (value === 'true' ? true : value === 'false' ? false : value))
  @IsBoolean({ message: 'default must be true or false' })
  default?: boolean;
}

export class ObisDefinitionDto {
  @ApiProperty({ example: '1-0:1.8.0.255' }) code!: string;
  @ApiProperty({ example: 'Active Energy Import' }) name!: string;
  @ApiProperty({ nullable: true, type: String, example: 'Wh' }) unit!: string | null;
  @ApiProperty({ nullable: true, type: Number, example: 0 }) defaultScaler!: number | null;
  @ApiProperty({ example: 3, description: 'COSEM interface class' }) classId!: number;
  @ApiProperty({ example: 2 }) attribute!: number;
  @ApiProperty({ enum: ['R', 'RW'] }) access!: 'R' | 'RW';
  @ApiProperty({ enum: ['number', 'string', 'datetime', 'enum'] }) valueType!: string;
  @ApiProperty() isDefault!: boolean;
  @ApiPropertyOptional({ type: [String], description: 'Accepted values of an enum code' })
  enumValues?: string[];
  @ApiProperty({ nullable: true, type: String }) description!: string | null;
}
