import {
  Injectable,
  Logger,
  NotFoundException,
  BadRequestException,
  UnauthorizedException,
} from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { createHash, randomBytes } from 'node:crypto';
import type { ApiKey } from '@app/database';
import { AreasService } from '../areas/areas.service';
import type { AuthUser } from '../auth/auth-user';
import { API_KEY_PREFIX } from '../auth/credentials';
import { CREDENTIAL_RECHECK_MS, SessionRevocation } from '../auth/session-revocation';
import type { ApiKeyDto, CreateApiKeyDto, CreatedApiKeyDto } from './api-keys.dto';
import { ApiKeysRepository } from './api-keys.repository';

/** 256 random bits: a key cannot be guessed, so one sha-256 (no slow hash) is enough to store it. */
const SECRET_BYTES = 32;
/** Keys whose rows (by hash) and last-use writes are memoised at once. */
const KEYS_MAX = 10_000;
/** The repository writes a key's last use at most once a minute; this instance does not even ask sooner. */
const LAST_USE_EVERY_MS = 60_000;
/** Characters of the key kept in clear to recognise it: `hes_` and 8 of the secret (48 bits). */
const SHOWN_PREFIX_LENGTH = API_KEY_PREFIX.length + 8;

export function hashApiKey(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export function toApiKeyDto(key: ApiKey): ApiKeyDto {
  return {
    id: key.id,
    name: key.name,
    prefix: key.prefix,
    role: key.role,
    areaIds: key.areaIds,
    expiresAt: key.expiresAt,
    lastUsedAt: key.lastUsedAt,
    revokedAt: key.revokedAt,
    createdBy: key.createdBy,
    createdAt: key.createdAt,
  };
}

/** Integration keys: created by admins with a role, areas and expiry, checked on every request. */
@Injectable()
export class ApiKeysService {
  private readonly logger = new Logger(ApiKeysService.name);

  /** Key rows by hash, read (or being read) for authentication at most CREDENTIAL_RECHECK_MS ago. */
  private readonly keysByHash = new LRUCache<string, Promise<ApiKey | undefined>>({
    max: KEYS_MAX,
    ttl: CREDENTIAL_RECHECK_MS,
  });
  /** Keys whose last use this instance recorded within LAST_USE_EVERY_MS. */
  private readonly lastUseRecorded = new LRUCache<string, true>({ max: KEYS_MAX, ttl: LAST_USE_EVERY_MS });

  constructor(
    private readonly repo: ApiKeysRepository,
    private readonly areas: AreasService,
    private readonly revocation: SessionRevocation,
  ) {
    // Revocations are rare: forgetting every memoised key is simpler than indexing them by id.
    revocation.onRevoked((principal) => {
      if (principal.kind === 'api-key') this.keysByHash.clear();
    });
  }

  async create(dto: CreateApiKeyDto, creator: AuthUser, now = new Date()): Promise<CreatedApiKeyDto> {
    const expiresAt = dto.expiresAt === undefined ? null : new Date(dto.expiresAt);
    if (expiresAt && Number.isNaN(expiresAt.getTime())) {
      throw new BadRequestException('expiresAt is not a valid date-time');
    }
    if (expiresAt && expiresAt.getTime() <= now.getTime()) {
      throw new BadRequestException('expiresAt must be in the future');
    }
    const areaIds = await this.areas.assignable(dto.role, dto.areaIds ?? []);
    const secret = API_KEY_PREFIX + randomBytes(SECRET_BYTES).toString('base64url');
    const created = await this.repo.insert({
      name: dto.name,
      prefix: secret.slice(0, SHOWN_PREFIX_LENGTH),
      keyHash: hashApiKey(secret),
      role: dto.role,
      areaIds,
      expiresAt,
      createdBy: creator.kind === 'user' ? creator.id : null,
    });
    return { id: created.id, key: secret };
  }

  async list(page: number, limit: number): Promise<{ rows: ApiKeyDto[]; total: number }> {
    const { rows, total } = await this.repo.list((page - 1) * limit, limit);
    return { rows: rows.map(toApiKeyDto), total };
  }

  async get(id: string): Promise<ApiKeyDto> {
    const key = await this.repo.findById(id);
    if (!key) throw new NotFoundException('API key not found');
    return toApiKeyDto(key);
  }

  /** Revokes at once: the next request with the key is refused and its sockets are disconnected. */
  async revoke(id: string): Promise<ApiKeyDto> {
    const result = await this.repo.revoke(id);
    if (!result) throw new NotFoundException('API key not found');
    if (result.revokedNow) this.revocation.disconnect({ id, kind: 'api-key' }, 'key revoked');
    return toApiKeyDto(result.key);
  }

  /**
   * The principal of a presented key, or 401 (same answer for unknown, revoked and expired keys, so a
   * caller learns nothing about keys it does not hold). `fresh`: the key's row is read now, not reused.
   */
  async authenticate(secret: string, now = Date.now(), options: { fresh?: boolean } = {}): Promise<AuthUser> {
    const keyHash = hashApiKey(secret);
    if (options.fresh) this.keysByHash.delete(keyHash);
    const key = await this.keyByHash(keyHash);
    if (!key || key.revokedAt || (key.expiresAt && key.expiresAt.getTime() <= now)) {
      throw new UnauthorizedException('Invalid, revoked or expired API key');
    }
    if (!this.lastUseRecorded.has(key.id)) {
      this.lastUseRecorded.set(key.id, true);
      await this.repo.touchLastUse(key.id).catch((err: Error) => {
        this.lastUseRecorded.delete(key.id);
        this.logger.warn(`recording the last use of API key ${key.prefix}…: ${err.message}`);
      });
    }
    return {
      id: key.id,
      kind: 'api-key',
      username: key.name,
      role: key.role,
      areaIds: key.areaIds,
      expiresAt: key.expiresAt ? key.expiresAt.getTime() : null,
    };
  }

  /** A key's row by hash, read at most CREDENTIAL_RECHECK_MS ago; unknown hashes and failed reads are not kept. */
  private keyByHash(keyHash: string): Promise<ApiKey | undefined> {
    const known = this.keysByHash.get(keyHash);
    if (known) return known;
    const row = this.repo.findByHash(keyHash);
    this.keysByHash.set(keyHash, row);
    row.then(
      (found) => {
        if (!found && this.keysByHash.get(keyHash) === row) this.keysByHash.delete(keyHash);
      },
      () => {
        if (this.keysByHash.get(keyHash) === row) this.keysByHash.delete(keyHash);
      },
    );
    return row;
  }
}
