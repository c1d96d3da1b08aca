import { ROOMS } from '@app/contracts';
import { Injectable } from '@nestjs/common';
import type { AuthUser } from '../auth/auth-user';
import { AreasService } from '../areas/areas.service';
import { isUuid } from '../common';
import { MetersService } from '../meters/meters.service';

export const MAX_ROOM_NAME_LENGTH = 64;

export type RoomCheck = { allowed: true; room: string } | { allowed: false; message: string };

const METER_ROOM = /^meter-(.+)$/;
const AREA_ROOM = /^area-(.+)$/;

/**
 * Which rooms a user may join: `meters` (the fleet), `meter-{meterId}` for a live (not deleted) meter and
 * `area-{areaId}` for an existing area. Every role may read every meter and area (viewer reads), so the
 * check is existence; ids only, because events are addressed by id.
 */
@Injectable()
export class RealtimeRoomsService {
  constructor(
    private readonly meters: MetersService,
    private readonly areas: AreasService,
  ) {}

  /** Parses the room name and checks that what it names exists; `room` is the canonical name to join. */
  async check(_user: AuthUser, room: string): Promise<RoomCheck> {
    if (room === ROOMS.fleet) return { allowed: true, room };

    const meterRef = METER_ROOM.exec(room)?.[1];
    if (meterRef !== undefined) {
      if (!isUuid(meterRef)) {
        const byNumber = await this.meters.findByIdOrNumber(meterRef);
        return refuse(
          byNumber
            ? `Rooms name meters by id: use "${ROOMS.meter(byNumber.id)}"`
            : `Meter "${meterRef}" not found`,
        );
      }
      const meter = await this.meters.findByIdOrNumber(meterRef);
      return meter ? { allowed: true, room: ROOMS.meter(meter.id) } : refuse(`Meter "${meterRef}" not found`);
    }

    const areaRef = AREA_ROOM.exec(room)?.[1];
    if (areaRef !== undefined) {
      if (!isUuid(areaRef)) {
        const byCode = await this.areas.findByIdOrCode(areaRef);
        return refuse(
          byCode ? `Rooms name areas by id: use "${ROOMS.area(byCode.id)}"` : `Area "${areaRef}" not found`,
        );
      }
      const area = await this.areas.findByIdOrCode(areaRef);
      return area ? { allowed: true, room: ROOMS.area(area.id) } : refuse(`Area "${areaRef}" not found`);
    }

    return refuse(`Unknown room "${room}": expected "meter-{meterId}", "area-{areaId}" or "${ROOMS.fleet}"`);
  }
}

function refuse(message: string): RoomCheck {
  return { allowed: false, message };
}
