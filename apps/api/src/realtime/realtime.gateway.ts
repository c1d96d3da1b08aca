import { ApiEnv } from '@app/config';
import { WS_EVENTS } from '@app/contracts';
import { Logger, OnModuleDestroy } from '@nestjs/common';
import {
  ConnectedSocket,
  MessageBody,
  OnGatewayConnection,
  OnGatewayInit,
  SubscribeMessage,
  WebSocketGateway,
  WebSocketServer,
} from '@nestjs/websockets';
import type { Server, Socket } from 'socket.io';
import { AuthService } from '../auth/auth.service';
import type { AuthUser } from '../auth/auth-user';
import { MAX_ROOM_NAME_LENGTH, RealtimeRoomsService } from './realtime-rooms.service';

/** Rooms one socket may be in (its own id room not counted). */
export const MAX_ROOMS_PER_SOCKET = 500;
/** join-room checks of one socket running at once; more are refused rather than queued. */
const MAX_PENDING_ROOM_CHECKS = 8;
/**
 * Socket.IO buffers per socket, so a slow client only grows its own buffer; past REALTIME_MAX_CLIENT_BACKLOG
 * packets waiting for its transport it is disconnected (it can reconnect), so that buffer stays bounded.
 */
const BACKLOG_CHECK_EVERY_MS = 2_000;
/** Connected sockets are re-authorised this often: a deactivated user or an expired token is cut off. */
const REVERIFY_EVERY_MS = 30_000;

export interface RoomAck {
  success: boolean;
  message?: string;
  room?: string;
}

interface SocketSession {
  user: AuthUser;
  token: string;
  /** Epoch ms of the token's `exp`, when it has one. */
  expiresAt: number | null;
  pendingRoomChecks: number;
}

type ClientSocket = Socket<
  Record<string, never>,
  Record<string, never>,
  Record<string, never>,
  SocketSession
>;

/** What the client sees on `connect_error`: `err.message === 'unauthorized'`, the reason in `err.data`. */
function unauthorized(reason: string): Error {
  return Object.assign(new Error('unauthorized'), { data: { message: reason } });
}

/** The bearer token of a handshake: `auth: { token }` (as sent by socket.io-client) or the Authorization header. */
export function handshakeToken(socket: Pick<Socket, 'handshake'>): string | undefined {
  const fromAuth: unknown = socket.handshake.auth?.token;
  if (typeof fromAuth === 'string' && fromAuth.trim()) return fromAuth.trim().replace(/^Bearer\s+/i, '');
  const header = socket.handshake.headers.authorization;
  const match = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header.trim()) : null;
  return match?.[1];
}

function tokenExpiry(token: string): number | null {
  try {
    const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
      exp?: unknown;
    };
    return typeof claims.exp === 'number' ? claims.exp * 1000 : null;
  } catch {
    return null;
  }
}

/**
 * Live meter updates over Socket.IO. Clients authenticate in the handshake, then join rooms with
 * `join-room` (checked server-side) and receive the events the workers publish through Redis (the
 * adapter installed by RealtimeIoAdapter delivers them; this gateway never relays anything a client sends).
 */
@WebSocketGateway({
  serveClient: false,
  maxHttpBufferSize: 16 * 1024,
  pingInterval: 10_000,
  pingTimeout: 10_000,
  connectTimeout: 10_000,
})
export class RealtimeGateway implements OnGatewayInit, OnGatewayConnection, OnModuleDestroy {
  private readonly logger = new Logger('RealtimeGateway');
  @WebSocketServer() private server!: Server;
  private timers: NodeJS.Timeout[] = [];
  private reverifying = false;

  private readonly maxClientBacklog: number;

  constructor(
    private readonly auth: AuthService,
    private readonly rooms: RealtimeRoomsService,
    env: ApiEnv,
  ) {
    this.maxClientBacklog = env.REALTIME_MAX_CLIENT_BACKLOG;
  }

  afterInit(server: Server): void {
    server.use((socket, next) => {
      this.authenticate(socket as ClientSocket).then(
        () => next(),
        (err: Error) => next(err),
      );
    });
    this.timers.push(setInterval(() => this.disconnectSlowClients(), BACKLOG_CHECK_EVERY_MS));
    this.timers.push(setInterval(() => void this.reverifySessions(), REVERIFY_EVERY_MS));
    for (const t of this.timers) t.unref();
  }

  handleConnection(socket: ClientSocket): void {
    this.logger.debug(
      `socket ${socket.id} ${socket.recovered ? 'recovered' : 'connected'} (user ${socket.data.user?.username})`,
    );
    if (socket.recovered) void this.recheckRooms(socket);
  }

  onModuleDestroy(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }

  @SubscribeMessage(WS_EVENTS.JOIN_ROOM)
  async joinRoom(@ConnectedSocket() socket: ClientSocket, @MessageBody() body: unknown): Promise<RoomAck> {
    const requested = roomOf(body);
    if (typeof requested !== 'string') return requested;
    if (requested !== socket.id && socket.rooms.has(requested)) {
      return { success: true, message: `Already in room ${requested}`, room: requested };
    }
    if (socket.rooms.size - 1 >= MAX_ROOMS_PER_SOCKET) {
      return { success: false, message: `At most ${MAX_ROOMS_PER_SOCKET} rooms per connection` };
    }
    const session = socket.data;
    if (session.pendingRoomChecks >= MAX_PENDING_ROOM_CHECKS) {
      return { success: false, message: 'Too many join-room requests in progress; wait for their answers' };
    }
    session.pendingRoomChecks++;
    try {
      const check = await this.rooms.check(session.user, requested);
      if (!check.allowed) return { success: false, message: check.message };
      if (!socket.connected) return { success: false, message: 'Disconnected' };
      if (socket.rooms.size - 1 >= MAX_ROOMS_PER_SOCKET && !socket.rooms.has(check.room)) {
        return { success: false, message: `At most ${MAX_ROOMS_PER_SOCKET} rooms per connection` };
      }
      await socket.join(check.room);
      return { success: true, message: `Joined room ${check.room}`, room: check.room };
    } catch (err) {
      this.logger.warn(`join-room ${requested} failed: ${(err as Error).message}`);
      return { success: false, message: 'Could not check the room right now; try again' };
    } finally {
      session.pendingRoomChecks--;
    }
  }

  @SubscribeMessage(WS_EVENTS.LEAVE_ROOM)
  async leaveRoom(@ConnectedSocket() socket: ClientSocket, @MessageBody() body: unknown): Promise<RoomAck> {
    const requested = roomOf(body);
    if (typeof requested !== 'string') return requested;
    const room = [requested, requested.toLowerCase()].find((r) => r !== socket.id && socket.rooms.has(r));
    if (!room) return { success: false, message: `Not in room ${requested}` };
    await socket.leave(room);
    return { success: true, message: `Left room ${room}`, room };
  }

  /** Connected sockets and joined rooms of this instance (for GET /api/realtime/stats). */
  localStats(): { connectedClients: number; roomMemberships: number } {
    let roomMemberships = 0;
    for (const socket of this.server?.sockets.sockets.values() ?? [])
      roomMemberships += socket.rooms.size - 1;
    return { connectedClients: this.server?.sockets.sockets.size ?? 0, roomMemberships };
  }

  private async authenticate(socket: ClientSocket): Promise<void> {
    const token = handshakeToken(socket);
    if (!token)
      throw unauthorized('Missing token: connect with auth: { token } or an Authorization: Bearer header');
    let user: AuthUser;
    try {
      user = await this.auth.verifyAccessToken(token);
    } catch (err) {
      throw unauthorized((err as Error).message || 'Invalid token');
    }
    socket.data = { user, token, expiresAt: tokenExpiry(token), pendingRoomChecks: 0 };
  }

  /**
   * A recovered socket gets back the rooms it had (connection state recovery): each is checked again for
   * this user, as join-room would, and left when no longer allowed (e.g. its meter was deleted meanwhile).
   */
  private async recheckRooms(socket: ClientSocket): Promise<void> {
    for (const room of [...socket.rooms]) {
      if (room === socket.id) continue;
      try {
        const check = await this.rooms.check(socket.data.user, room);
        if (!check.allowed) await socket.leave(room);
      } catch (err) {
        // The check could not run (database away): keep the room rather than drop a legitimate one.
        this.logger.warn(
          `re-checking room ${room} of recovered socket ${socket.id}: ${(err as Error).message}`,
        );
      }
    }
  }

  private disconnectSlowClients(): void {
    for (const socket of this.server.sockets.sockets.values()) {
      const backlog = (socket.conn as unknown as { writeBuffer?: unknown[] }).writeBuffer?.length ?? 0;
      if (backlog > this.maxClientBacklog) {
        this.logger.warn(
          `disconnecting slow client ${socket.id} (user ${(socket as ClientSocket).data.user?.username}): ` +
            `${backlog} packets waiting`,
        );
        socket.disconnect(true);
      }
    }
  }

  /**
   * Expired tokens are cut off locally; each user with sockets here is re-checked once (one token), and
   * only when that fails are that user's other sockets checked one by one (so a deactivated user loses
   * every socket, and one expired token does not cost a user their other sessions).
   */
  private async reverifySessions(): Promise<void> {
    if (this.reverifying) return;
    this.reverifying = true;
    try {
      const now = Date.now();
      const byUser = new Map<string, ClientSocket[]>();
      for (const s of this.server.sockets.sockets.values()) {
        const socket = s as ClientSocket;
        if (!socket.data?.user) continue;
        if (socket.data.expiresAt !== null && socket.data.expiresAt <= now) {
          this.dropSession(socket, 'token expired');
          continue;
        }
        const list = byUser.get(socket.data.user.id) ?? [];
        list.push(socket);
        byUser.set(socket.data.user.id, list);
      }
      for (const sockets of byUser.values()) {
        if (await this.stillValid(sockets[0])) continue;
        for (const socket of sockets) {
          if (socket === sockets[0] || !(await this.stillValid(socket)))
            this.dropSession(socket, 'no longer authorised');
        }
      }
    } catch (err) {
      this.logger.warn(`re-checking socket sessions failed: ${(err as Error).message}`);
    } finally {
      this.reverifying = false;
    }
  }

  private async stillValid(socket: ClientSocket): Promise<boolean> {
    try {
      socket.data.user = await this.auth.verifyAccessToken(socket.data.token);
      return true;
    } catch (err) {
      // Only an authentication verdict drops a session; a database hiccup does not.
      return !isUnauthorized(err);
    }
  }

  private dropSession(socket: ClientSocket, reason: string): void {
    this.logger.log(`disconnecting socket ${socket.id} of ${socket.data.user.username}: ${reason}`);
    socket.disconnect(true);
  }
}

function isUnauthorized(err: unknown): boolean {
  return (
    typeof err === 'object' && err !== null && (err as { getStatus?: () => number }).getStatus?.() === 401
  );
}

/** The room named in a join-room / leave-room payload (`{ room }`), or the refusal to send back. */
function roomOf(body: unknown): string | RoomAck {
  const room = typeof body === 'object' && body !== null ? (body as { room?: unknown }).room : undefined;
  if (typeof room !== 'string' || room.length === 0) {
    return { success: false, message: 'Expected { room: string }' };
  }
  if (room.length > MAX_ROOM_NAME_LENGTH) {
    return { success: false, message: `Room names are at most ${MAX_ROOM_NAME_LENGTH} characters` };
  }
  return room;
}
