import { ApiProperty } from '@nestjs/swagger';
import { IsString, MaxLength, MinLength } from 'class-validator';
import { UserDto } from '../users/users.dto';

export class LoginDto {
  @ApiProperty({ example: 'admin' })
  @IsString()
  @MinLength(1)
  @MaxLength(64)
  username!: string;

  @ApiProperty({ format: 'password' })
  @IsString()
  @MinLength(1)
  @MaxLength(128)
  password!: string;
}

export class LoginResultDto {
  @ApiProperty({ description: 'JWT (HS256) for `Authorization: Bearer <token>`' })
  token!: string;
  @ApiProperty({ type: UserDto })
  user!: UserDto;
}
