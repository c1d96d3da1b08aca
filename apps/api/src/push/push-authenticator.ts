import { HttpException, HttpStatus, Injectable, UnauthorizedException } from '@nestjs/common';
import { METER_NUMBER_PATTERN } from '../meters/meters.dto';
import { PushAdmission } from './push-redis';
import { isStaleSignature, parsePushSignature, signatureMatches } from './push-signature';
import { PushTargets } from './push-targets';
import type { PushTarget } from './push.repository';

/** Same answer for an unknown meter, a meter without a secret and a wrong signature: nothing to probe. */
const NOT_AUTHENTIC = 'unknown meter or bad signature';

/**
 * Authenticates a push before anything else looks at it: the signature header, its age, the meter (by the
 * body's meterNumber) and its secret, the HMAC over the raw body, then the replay check and the meter's rate
 * limit in one Redis call. Every refusal is a 401 (429 for the rate limit) and nothing is stored.
 */
@Injectable()
export class PushAuthenticator {
  constructor(
    private readonly targets: PushTargets,
    private readonly admission: PushAdmission,
  ) {}

  /**
   * `rawBody`: the exact bytes received (undefined when the body was not JSON); `body`: them parsed.
   * Resolves with the meter, or rejects with the HttpException to answer.
   */
  async authenticate(header: unknown, rawBody: Buffer | undefined, body: unknown): Promise<PushTarget> {
    const signature = parsePushSignature(header);
    if (!signature) {
      throw new UnauthorizedException('X-Meter-Signature must be t=<unix seconds>,v1=<64 hex digits>');
    }
    if (isStaleSignature(signature.t))
      throw new UnauthorizedException('signature expired (older than 5 minutes)');
    const meterNumber = (body as { meterNumber?: unknown } | null | undefined)?.meterNumber;
    if (!rawBody || typeof meterNumber !== 'string' || !METER_NUMBER_PATTERN.test(meterNumber)) {
      throw new UnauthorizedException(NOT_AUTHENTIC);
    }
    let credentials = await this.targets.find(meterNumber);
    if (credentials && !signatureMatches(credentials.secret, signature, rawBody)) {
      // A cached secret may be one rotated through another api instance: read it again (rate-limited).
      const fresh = this.targets.refresh(credentials);
      credentials = fresh ? await fresh : null;
      if (credentials && !signatureMatches(credentials.secret, signature, rawBody)) credentials = null;
    }
    if (!credentials) throw new UnauthorizedException(NOT_AUTHENTIC);
    const admission = await this.admission.admit(credentials.target.id, signature.v1);
    if (admission === 'replayed') throw new UnauthorizedException('signature already used (replay)');
    if (admission === 'rate-limited') {
      throw new HttpException('too many pushes from this meter, slow down', HttpStatus.TOO_MANY_REQUESTS);
    }
    return credentials.target;
  }
}
