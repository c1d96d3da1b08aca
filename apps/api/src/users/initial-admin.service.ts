import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { randomBytes } from 'node:crypto';
import { UsersService } from './users.service';

/**
 * Creates the first admin at boot when there is no active admin: ADMIN_USERNAME with ADMIN_PASSWORD, or,
 * when ADMIN_PASSWORD is not set and NODE_ENV is development, with a random password printed once to
 * standard output (change it after the first login). The password never goes through the logger: logs
 * are shipped and kept, a terminal is not. Elsewhere no admin is made up: ADMIN_PASSWORD must be set.
 * Several api instances booting together are safe: the insert ignores an existing username.
 */
@Injectable()
export class InitialAdminService implements OnApplicationBootstrap {
  private readonly logger = new Logger('InitialAdmin');

  constructor(
    private readonly users: UsersService,
    private readonly config: ConfigService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if ((await this.users.countActiveAdmins()) > 0) return;
    const username = this.config.getOrThrow<string>('ADMIN_USERNAME');
    const configured = this.config.get<string>('ADMIN_PASSWORD');
    if (!configured && this.config.get<string>('NODE_ENV') !== 'development') {
      this.logger.warn(
        `No active admin exists and ADMIN_PASSWORD is not set: no admin was created. Set ADMIN_PASSWORD ` +
          `(ADMIN_USERNAME "${username}") and restart.`,
      );
      return;
    }
    const password = configured || randomBytes(12).toString('base64url');
    const created = await this.users.createIfAbsent(username, password, 'admin');
    if (!created) {
      const existing = await this.users.findByUsername(username);
      if (existing?.role !== 'admin' || !existing.isActive) {
        this.logger.warn(
          `No active admin exists and user "${username}" (ADMIN_USERNAME) exists as an inactive or non-admin ` +
            'user; it was left unchanged. Set ADMIN_USERNAME to a free username to create a new admin.',
        );
      }
      return;
    }
    if (configured) {
      this.logger.log(`Created the initial admin "${username}" from ADMIN_USERNAME / ADMIN_PASSWORD`);
    } else {
      this.logger.warn(
        `ADMIN_PASSWORD is not set: created the initial admin "${username}" with a generated password, ` +
          'printed once to standard output (not to the log)',
      );
      process.stdout.write(
        `\nInitial admin "${username}", generated password: ${password}\n` +
          'Log in and change it (PATCH /api/users/:id); it is not shown again.\n\n',
      );
    }
  }
}
