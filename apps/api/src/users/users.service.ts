import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import type { User } from '@app/database';
import { AreasService } from '../areas/areas.service';
import { SessionRevocation } from '../auth/session-revocation';
import { PasswordHasher } from './password-hasher';
import { CreateUserDto, UpdateUserDto, UserDto } from './users.dto';
import { UserChanges, UsersRepository } from './users.repository';

export function toUserDto(user: User): UserDto {
  return {
    id: user.id,
    username: user.username,
    role: user.role,
    isActive: user.isActive,
    areaIds: user.areaIds,
    lastLoginAt: user.lastLoginAt,
    createdAt: user.createdAt,
    updatedAt: user.updatedAt,
  };
}

@Injectable()
export class UsersService {
  constructor(
    private readonly repo: UsersRepository,
    private readonly hasher: PasswordHasher,
    private readonly areas: AreasService,
    private readonly revocation: SessionRevocation,
  ) {}

  findById(id: string): Promise<User | undefined> {
    return this.repo.findById(id);
  }

  findByUsername(username: string): Promise<User | undefined> {
    return this.repo.findByUsername(username);
  }

  async getById(id: string): Promise<User> {
    const user = await this.repo.findById(id);
    if (!user) throw new NotFoundException('User not found');
    return user;
  }

  list(page: number, limit: number): Promise<{ rows: User[]; total: number }> {
    return this.repo.list((page - 1) * limit, limit);
  }

  async create(dto: CreateUserDto): Promise<User> {
    const areaIds = await this.areas.assignable(dto.role, dto.areaIds ?? []);
    const passwordHash = await this.hasher.hash(dto.password);
    const user = await this.repo.insert({ username: dto.username, passwordHash, role: dto.role, areaIds });
    if (!user) throw new ConflictException(`Username "${dto.username}" is already taken`);
    return user;
  }

  /**
   * A change of password, role, areas or active flag ends the user's tokens at once and disconnects their
   * sockets (they log in again and get what they may now do).
   */
  async update(id: string, dto: UpdateUserDto): Promise<User> {
    const current = await this.getById(id);
    const changes: UserChanges = {};
    if (dto.role !== undefined) changes.role = dto.role;
    if (dto.isActive !== undefined) changes.isActive = dto.isActive;
    if (dto.role !== undefined || dto.areaIds !== undefined) {
      changes.areaIds = await this.areas.assignable(
        dto.role ?? current.role,
        dto.areaIds ?? (dto.role === 'admin' ? [] : current.areaIds),
      );
    }
    if (dto.password !== undefined) changes.passwordHash = await this.hasher.hash(dto.password);
    const result = await this.repo.updateKeepingAnAdmin(id, changes);
    if (result === undefined) throw new NotFoundException('User not found');
    if (result === 'last-admin') {
      throw new ConflictException('Cannot deactivate or demote the last active admin');
    }
    if (result.revoked) this.revocation.disconnect({ id, kind: 'user' }, 'credentials or rights changed');
    return result.user;
  }

  /** Logout: every token the user holds ends now, and their sockets are disconnected. */
  async endSessions(id: string): Promise<void> {
    if (await this.repo.bumpTokenVersion(id)) this.revocation.disconnect({ id, kind: 'user' }, 'logged out');
  }

  async verifyPassword(user: User, password: string): Promise<boolean> {
    return this.hasher.verify(password, user.passwordHash);
  }

  /** Keeps login time roughly constant for unknown usernames (no user enumeration by timing). */
  async burnPasswordCheck(password: string): Promise<void> {
    await this.hasher.verify(password, DUMMY_HASH);
  }

  recordLogin(id: string): Promise<void> {
    return this.repo.touchLastLogin(id);
  }

  countActiveAdmins(): Promise<number> {
    return this.repo.countActiveAdmins();
  }

  async createIfAbsent(username: string, password: string, role: User['role']): Promise<User | undefined> {
    return this.repo.insert({ username, passwordHash: await this.hasher.hash(password), role });
  }
}

const DUMMY_HASH = 'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$' + Buffer.alloc(64).toString('base64');
