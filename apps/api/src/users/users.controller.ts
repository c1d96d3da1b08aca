import { Body, Controller, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { AuditTarget } from '../audit/audit-target.decorator';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Roles } from '../auth/decorators';
import {
  ApiErrors,
  ApiOk,
  ApiOkEnvelope,
  ApiPage,
  ApiPageEnvelope,
  ok,
  paginated,
  PageQueryDto,
  ParseIdPipe,
} from '../common';
import { CreateUserDto, UpdateUserDto, UserDto } from './users.dto';
import { toUserDto, UsersService } from './users.service';

@ApiTags('users')
@ApiBearerAuth()
@ApiErrors([401, 503])
@Roles('admin')
@Controller('users')
@AuditTarget('user')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Get()
  @ApiOperation({ summary: 'List users (roles: admin)' })
  @ApiPageEnvelope(UserDto)
  @ApiErrors([400])
  async list(@Query() query: PageQueryDto): Promise<ApiPage<UserDto>> {
    const { rows, total } = await this.users.list(query.page, query.limit);
    return paginated(rows.map(toUserDto), total, query.page, query.limit);
  }

  @Get(':id')
  @ApiOperation({ summary: 'Get a user (roles: admin)' })
  @ApiOkEnvelope(UserDto)
  @ApiErrors([400, 404], { 400: 'id is not a UUID' })
  async get(@Param('id', ParseIdPipe) id: string): Promise<ApiOk<UserDto>> {
    return ok(toUserDto(await this.users.getById(id)));
  }

  @Post()
  @HttpCode(201)
  @ApiOperation({ summary: 'Create a user with a role (roles: admin). 409 when the username is taken.' })
  @ApiOkEnvelope(UserDto, { status: 201, description: 'Created' })
  @ApiErrors([400, 409], { 409: 'The username is taken' })
  async create(@Body() dto: CreateUserDto): Promise<ApiOk<UserDto>> {
    return ok(toUserDto(await this.users.create(dto)), 'User created');
  }

  @Patch(':id')
  @ApiOperation({
    summary: "Change a user's password, role or active flag (roles: admin). 409 for the last active admin.",
  })
  @ApiOkEnvelope(UserDto)
  @ApiErrors([400, 404, 409], { 409: 'It would leave no active admin' })
  async update(@Param('id', ParseIdPipe) id: string, @Body() dto: UpdateUserDto): Promise<ApiOk<UserDto>> {
    return ok(toUserDto(await this.users.update(id, dto)), 'User updated');
  }
}
