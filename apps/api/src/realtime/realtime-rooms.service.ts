import { ROOMS } from '@app/contracts';
import { Injectable } from '@nestjs/common';
import { AccessScope } from '../auth/access-scope';
import type { AuthUser } from '../auth/auth-user';
import { AreasService } from '../areas/areas.service';
import { isUuid } from '../common';
import { MetersService } from '../meters/meters.service';

export const MAX_ROOM_NAME_LENGTH = 64;

/**
 * `room` is the canonical name the client asked for; `rooms` are the Socket.IO rooms that deliver it (the
 * same one, except `meters` for an area-scoped caller: its areas' rooms).
 */
export type RoomCheck =
  { allowed: true; room: string; rooms: string[] } | { allowed: false; message: string };

const METER_ROOM = /^meter-(.+)$/;
const AREA_ROOM = /^area-(.+)$/;

/**
 * Which rooms a caller may join, by the same AccessScope as the REST api: `meters` (the fleet),
 * `meter-{meterId}` for a live meter and `area-{areaId}` for an area, each within the caller's areas (one
 * outside them is answered like one that does not exist). Ids only, because events are addressed by id.
 *
 * `meters` carries status changes, which are also addressed to the meter's area room (one message to the
 * union of rooms, see docs/realtime.md), so an area-scoped caller asking for `meters` is put in its areas'
 * rooms instead: it gets exactly its areas' events and delivery costs nothing per event.
 */
@Injectable()
export class RealtimeRoomsService {
  constructor(
    private readonly meters: MetersService,
    private readonly areas: AreasService,
  ) {}

  /** Parses the room name and checks that what it names exists in the caller's scope. */
  async check(principal: AuthUser, room: string): Promise<RoomCheck> {
    const scope = AccessScope.of(principal);
    if (room === ROOMS.fleet) {
      return { allowed: true, room, rooms: scope.areaIds?.map((id) => ROOMS.area(id)) ?? [room] };
    }

    const meterRef = METER_ROOM.exec(room)?.[1];
    if (meterRef !== undefined) {
      if (!isUuid(meterRef)) {
        const byNumber = await this.meters.findByIdOrNumber(meterRef, scope);
        return refuse(
          byNumber
            ? `Rooms name meters by id: use "${ROOMS.meter(byNumber.id)}"`
            : `Meter "${meterRef}" not found`,
        );
      }
      const meter = await this.meters.findByIdOrNumber(meterRef, scope);
      return meter ? allow(ROOMS.meter(meter.id)) : refuse(`Meter "${meterRef}" not found`);
    }

    const areaRef = AREA_ROOM.exec(room)?.[1];
    if (areaRef !== undefined) {
      if (!isUuid(areaRef)) {
        const byCode = await this.areas.findByIdOrCode(areaRef, scope);
        return refuse(
          byCode ? `Rooms name areas by id: use "${ROOMS.area(byCode.id)}"` : `Area "${areaRef}" not found`,
        );
      }
      const area = await this.areas.findByIdOrCode(areaRef, scope);
      return area ? allow(ROOMS.area(area.id)) : refuse(`Area "${areaRef}" not found`);
    }

    return refuse(`Unknown room "${room}": expected "meter-{meterId}", "area-{areaId}" or "${ROOMS.fleet}"`);
  }
}

function allow(room: string): RoomCheck {
  return { allowed: true, room, rooms: [room] };
}

function refuse(message: string): RoomCheck {
  return { allowed: false, message };
}
