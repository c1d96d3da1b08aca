import { Inject, Injectable } from '@nestjs/common';
import { and, asc, count, eq, sql } from 'drizzle-orm';
import { Database, DRIZZLE, NewUser, User, UserRole, users } from '@app/database';

export type UserChanges = Partial<Pick<User, 'passwordHash' | 'role' | 'isActive' | 'areaIds'>>;

/** Changes that end every token issued before them (password, role, areas, active flag). */
function revokesTokens(changes: UserChanges, current: User): boolean {
  return (
    changes.passwordHash !== undefined ||
    (changes.role !== undefined && changes.role !== current.role) ||
    (changes.isActive !== undefined && changes.isActive !== current.isActive) ||
    (changes.areaIds !== undefined && !sameSet(changes.areaIds, current.areaIds))
  );
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

@Injectable()
export class UsersRepository {
  constructor(@Inject(DRIZZLE) private readonly db: Database) {}

  async findById(id: string): Promise<User | undefined> {
    const [row] = await this.db.select().from(users).where(eq(users.id, id));
    return row;
  }

  async findByUsername(username: string): Promise<User | undefined> {
    const [row] = await this.db.select().from(users).where(eq(users.username, username));
    return row;
  }

  async list(offset: number, limit: number): Promise<{ rows: User[]; total: number }> {
    const rows = await this.db.select().from(users).orderBy(asc(users.username)).offset(offset).limit(limit);
    const [{ total }] = await this.db.select({ total: count() }).from(users);
    return { rows, total };
  }

  /** Inserts unless the username exists; returns undefined on a duplicate. */
  async insert(user: NewUser): Promise<User | undefined> {
    const [row] = await this.db.insert(users).values(user).onConflictDoNothing().returning();
    return row;
  }

  async countActiveAdmins(): Promise<number> {
    const [{ total }] = await this.db
      .select({ total: count() })
      .from(users)
      .where(and(eq(users.role, 'admin'), eq(users.isActive, true)));
    return total;
  }

  /** Ends every token of the user issued so far; false when there is no such user. */
  async bumpTokenVersion(id: string): Promise<boolean> {
    const rows = await this.db
      .update(users)
      .set({ tokenVersion: sql`${users.tokenVersion} + 1` })
      .where(eq(users.id, id))
      .returning({ id: users.id });
    return rows.length > 0;
  }

  async touchLastLogin(id: string): Promise<void> {
    await this.db.update(users).set({ lastLoginAt: new Date() }).where(eq(users.id, id));
  }

  /**
   * Applies `changes` unless they would leave no active admin. The active admins are locked first, so two
   * concurrent demotions cannot both pass the check. A change of password, role, areas or active flag
   * raises the token version in the same statement (every earlier token ends with the commit). Returns
   * 'last-admin' when refused, undefined when the user does not exist; `before` is the row replaced.
   */
  async updateKeepingAnAdmin(
    id: string,
    changes: UserChanges,
  ): Promise<{ user: User; before: User; revoked: boolean } | 'last-admin' | undefined> {
    return this.db.transaction(async (tx) => {
      const admins = await tx
        .select({ id: users.id })
        .from(users)
        .where(and(eq(users.role, 'admin' as UserRole), eq(users.isActive, true)))
        .for('update');
      const [current] = await tx.select().from(users).where(eq(users.id, id)).for('update');
      if (!current) return undefined;
      const stillAdmin = (changes.role ?? current.role) === 'admin' && (changes.isActive ?? current.isActive);
      const wasActiveAdmin = admins.some((a) => a.id === id);
      if (wasActiveAdmin && !stillAdmin && admins.length <= 1) return 'last-admin';
      const revoked = revokesTokens(changes, current);
      const [row] = await tx
        .update(users)
        .set({
          ...changes,
          ...(revoked ? { tokenVersion: sql`${users.tokenVersion} + 1` } : {}),
          updatedAt: new Date(),
        })
        .where(eq(users.id, id))
        .returning();
      return { user: row, before: current, revoked };
    });
  }
}
