import { Injectable, Logger } from '@nestjs/common';
import { ROOMS } from '@app/contracts';
import { MAX_ROOM_NAME_LENGTH, RealtimeRoomsService } from './realtime-rooms.service';
import type { ClientSocket } from './realtime-session';

/** Rooms one socket may be in (its own id room and its principal's room not counted). */
export const MAX_ROOMS_PER_SOCKET = 500;
/** join-room checks of one socket running at once; more are refused rather than queued. */
const MAX_PENDING_ROOM_CHECKS = 8;
/** The socket's own id room and its principal's room. */
const BUILT_IN_ROOMS = 2;

export interface RoomAck {
  success: boolean;
  message?: string;
  room?: string;
}

/** join-room / leave-room of one socket, and the re-check of a recovered socket's rooms. */
@Injectable()
export class RealtimeRoomMembership {
  private readonly logger = new Logger('RealtimeRooms');

  constructor(private readonly rooms: RealtimeRoomsService) {}

  async join(socket: ClientSocket, body: unknown): Promise<RoomAck> {
    const requested = roomOf(body);
    if (typeof requested !== 'string') return requested;
    if (requested !== socket.id && socket.rooms.has(requested)) {
      return { success: true, message: `Already in room ${requested}`, room: requested };
    }
    if (joinedCount(socket) >= MAX_ROOMS_PER_SOCKET) {
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
      const added = check.rooms.filter((r) => !socket.rooms.has(r));
      if (joinedCount(socket) + added.length > MAX_ROOMS_PER_SOCKET) {
        return { success: false, message: `At most ${MAX_ROOMS_PER_SOCKET} rooms per connection` };
      }
      if (check.room === ROOMS.fleet && check.rooms[0] !== ROOMS.fleet) {
        session.fleetRooms = [...new Set([...session.fleetRooms, ...added])];
      } else {
        // Asked for by name: no longer left with `meters`.
        session.fleetRooms = session.fleetRooms.filter((r) => r !== check.room);
      }
      await socket.join(check.rooms);
      return { success: true, message: `Joined room ${check.room}`, room: check.room };
    } catch (err) {
      this.logger.warn(`join-room ${requested} failed: ${(err as Error).message}`);
      return { success: false, message: 'Could not check the room right now; try again' };
    } finally {
      session.pendingRoomChecks--;
    }
  }

  async leave(socket: ClientSocket, body: unknown): Promise<RoomAck> {
    const requested = roomOf(body);
    if (typeof requested !== 'string') return requested;
    if (requested === ROOMS.fleet && socket.data.fleetRooms.length > 0) {
      for (const room of socket.data.fleetRooms) await socket.leave(room);
      socket.data.fleetRooms = [];
      return { success: true, message: `Left room ${requested}`, room: requested };
    }
    const room = [requested, requested.toLowerCase()].find((r) => r !== socket.id && socket.rooms.has(r));
    if (!room) return { success: false, message: `Not in room ${requested}` };
    await socket.leave(room);
    return { success: true, message: `Left room ${room}`, room };
  }

  /**
   * A recovered socket gets back the rooms it had (connection state recovery): each is checked again for
   * this caller, as join-room would, and left when no longer allowed (e.g. its meter was deleted meanwhile).
   */
  async recheck(socket: ClientSocket, keep: ReadonlySet<string>): Promise<void> {
    for (const room of [...socket.rooms]) {
      if (room === socket.id || keep.has(room)) continue;
      try {
        const check = await this.rooms.check(socket.data.user, room);
        if (!check.allowed || !check.rooms.includes(room)) await socket.leave(room);
      } catch (err) {
        // The check could not run (database away): keep the room rather than drop a legitimate one.
        this.logger.warn(
          `re-checking room ${room} of recovered socket ${socket.id}: ${(err as Error).message}`,
        );
      }
    }
  }
}

function joinedCount(socket: ClientSocket): number {
  return Math.max(0, socket.rooms.size - BUILT_IN_ROOMS);
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
  if (/^(user|key)-/.test(room)) return { success: false, message: `Unknown room "${room}"` };
  return room;
}
