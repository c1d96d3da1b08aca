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
import type { Server } from 'socket.io';
import { AuthService } from '../auth/auth.service';
import { type AuthUser, principalRoom } from '../auth/auth-user';
import { SessionRevocation } from '../auth/session-revocation';
import { RealtimeRoomMembership, type RoomAck } from './realtime-rooms.membership';
import { RealtimeSessionChecker } from './realtime-session-checker';
import { type ClientSocket, handshakeCredential, unauthorized } from './realtime-session';
import { SlowClientGuard } from './realtime-slow-clients';

export { MAX_ROOMS_PER_SOCKET, type RoomAck } from './realtime-rooms.membership';
export { handshakeToken } from './realtime-session';

const BACKLOG_CHECK_EVERY_MS = 2_000;
/** Connected sockets are re-authorised this often (a backstop: revocations disconnect at once). */
const REVERIFY_EVERY_MS = 30_000;

/**
 * Live meter updates over Socket.IO. Clients authenticate in the handshake (access token or API key),
 * then join rooms with `join-room` (RealtimeRoomMembership, checked against the caller's scope) and receive
 * the events the workers publish through Redis (the adapter installed by RealtimeIoAdapter delivers them;
 * this gateway never relays anything a client sends). Every socket is also in its principal's room
 * (`user-{id}` / `key-{id}`), through which SessionRevocation disconnects it on every api instance.
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
  private readonly slowClients: SlowClientGuard;

  constructor(
    private readonly auth: AuthService,
    private readonly membership: RealtimeRoomMembership,
    private readonly sessionChecker: RealtimeSessionChecker,
    private readonly revocation: SessionRevocation,
    env: ApiEnv,
  ) {
    this.slowClients = new SlowClientGuard(env.REALTIME_MAX_CLIENT_BACKLOG);
  }

  afterInit(server: Server): void {
    server.use((socket, next) => {
      this.authenticate(socket as ClientSocket).then(
        () => next(),
        (err: Error) => next(err),
      );
    });
    this.revocation.attach(server);
    this.timers.push(setInterval(() => this.slowClients.sweep(this.server), BACKLOG_CHECK_EVERY_MS));
    this.timers.push(setInterval(() => void this.sessionChecker.sweep(this.server), REVERIFY_EVERY_MS));
    for (const t of this.timers) t.unref();
  }

  async handleConnection(socket: ClientSocket): Promise<void> {
    const own = principalRoom(socket.data.user);
    this.logger.debug(
      `socket ${socket.id} ${socket.recovered ? 'recovered' : 'connected'} (${own} ${socket.data.user.username})`,
    );
    await socket.join(own);
    await this.sessionChecker.confirm(socket);
    if (socket.recovered && socket.connected) await this.membership.recheck(socket, new Set([own]));
  }

  onModuleDestroy(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }

  @SubscribeMessage(WS_EVENTS.JOIN_ROOM)
  joinRoom(@ConnectedSocket() socket: ClientSocket, @MessageBody() body: unknown): Promise<RoomAck> {
    return this.membership.join(socket, body);
  }

  @SubscribeMessage(WS_EVENTS.LEAVE_ROOM)
  leaveRoom(@ConnectedSocket() socket: ClientSocket, @MessageBody() body: unknown): Promise<RoomAck> {
    return this.membership.leave(socket, body);
  }

  /** The periodic re-check, run now (tests, and anything that cannot wait for the timer). */
  reverifySessions(): Promise<void> {
    return this.sessionChecker.sweep(this.server);
  }

  /** Connected sockets and joined rooms of this instance (for GET /api/realtime/stats). */
  localStats(): { connectedClients: number; roomMemberships: number } {
    let roomMemberships = 0;
    // Not counted: each socket's own id room and its principal's room.
    for (const socket of this.server?.sockets.sockets.values() ?? [])
      roomMemberships += Math.max(0, socket.rooms.size - 2);
    return { connectedClients: this.server?.sockets.sockets.size ?? 0, roomMemberships };
  }

  private async authenticate(socket: ClientSocket): Promise<void> {
    const credential = handshakeCredential(socket);
    if (!credential) {
      throw unauthorized(
        'Missing token or API key: connect with auth: { token } (or { apiKey }), or an Authorization: Bearer ' +
          'or X-API-Key header',
      );
    }
    let user: AuthUser;
    try {
      user = await this.auth.authenticate(credential);
    } catch (err) {
      throw unauthorized((err as Error).message || 'Invalid token');
    }
    socket.data = { user, credential, pendingRoomChecks: 0, fleetRooms: [] };
  }
}
