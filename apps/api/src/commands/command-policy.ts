import { ApiEnv } from '@app/config';
import { DEFAULT_METER_PORT, MeterAddressPolicy } from '@app/meter-network';
import { canonicalObisCode } from '@app/obis';
import { BadRequestException, ConflictException, HttpException, Injectable } from '@nestjs/common';

/** The meter fields a command needs (a subset of what MetersService returns). */
export interface CommandTarget {
  id: string;
  meterNumber: string;
  status: string;
  ipAddress: string | null;
  port: number | null;
}

/** Only meters configured for online communication are contacted on demand; lifecycle states are not. */
const COMMANDABLE_STATUSES: ReadonlySet<string> = new Set(['online', 'offline']);

/** Whether a meter may be contacted on demand now (before anything is recorded as pending or queued). */
@Injectable()
export class CommandPolicy {
  private readonly addressPolicy: MeterAddressPolicy;

  constructor(env: ApiEnv) {
    this.addressPolicy = MeterAddressPolicy.parse(env.METER_ALLOWED_NETWORKS, env.METER_ALLOWED_PORTS);
  }

  /** Why this meter must not be contacted now, or null. */
  refusalFor(meter: CommandTarget): HttpException | null {
    if (!COMMANDABLE_STATUSES.has(meter.status)) {
      return new ConflictException(
        `Meter ${meter.meterNumber} is '${meter.status}'; on-demand commands need a meter configured for ` +
          `online communication (status online or offline)`,
      );
    }
    if (!meter.ipAddress)
      return new ConflictException(`Meter ${meter.meterNumber} has no IP address configured`);
    // The worker contacts a meter without a port on DEFAULT_METER_PORT: judge what it would reach.
    const port = meter.port ?? DEFAULT_METER_PORT;
    const refusal = this.addressPolicy.refusal(meter.ipAddress, port);
    if (refusal) {
      return new ConflictException(
        `Meter ${meter.meterNumber}: ${this.addressPolicy.describe(refusal, meter.ipAddress, port)}; not contacted`,
      );
    }
    return null;
  }
}

/** Canonical, de-duplicated codes in request order; any malformed one is a 400 naming all of them. */
export function canonicalCodes(codes: readonly string[]): string[] {
  const bad: string[] = [];
  const out = new Set<string>();
  for (const code of codes) {
    const canonical = canonicalObisCode(code);
    if (canonical === null) bad.push(JSON.stringify(code));
    else out.add(canonical);
  }
  if (bad.length > 0) {
    throw new BadRequestException(
      `Not OBIS codes: ${bad.join(', ')} (expected A-B:C.D.E.F such as 1-0:1.8.0.255)`,
    );
  }
  return [...out];
}
