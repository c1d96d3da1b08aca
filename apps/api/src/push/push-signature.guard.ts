import { PUSH_SIGNATURE_HEADER } from '@app/contracts';
import {
  CanActivate,
  ExecutionContext,
  HttpException,
  HttpStatus,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';
import { METER_NUMBER_PATTERN } from '../meters/meters.dto';
import { PushAdmission } from './push-redis';
import type { PushHttpRequest } from './push-port';
import { PushSecretCipher } from './push-secret.cipher';
import { isStaleSignature, parsePushSignature, signatureMatches } from './push-signature';
import { PushTargets } from './push-targets';
import type { PushTarget } from './push.repository';

export interface SignedPushRequest extends PushHttpRequest {
  pushTarget?: PushTarget;
}

/** Same answer for an unknown meter, a meter without a secret and a wrong signature: nothing to probe. */
const NOT_AUTHENTIC = 'unknown meter or bad signature';

/**
 * Authenticates a push before anything else looks at it (guards run before validation): the signature
 * header, its age, the meter (by the body's meterNumber) and its secret, the HMAC over the raw body,
 * then the replay check and the meter's rate limit in one Redis round trip. Every refusal is a 401
 * (429 for the rate limit) and nothing is stored.
 */
@Injectable()
export class PushSignatureGuard implements CanActivate {
  constructor(
    private readonly targets: PushTargets,
    private readonly cipher: PushSecretCipher,
    private readonly admission: PushAdmission,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<SignedPushRequest>();
    const signature = parsePushSignature(req.headers[PUSH_SIGNATURE_HEADER]);
    if (!signature) {
      throw new UnauthorizedException('X-Meter-Signature must be t=<unix seconds>,v1=<64 hex digits>');
    }
    if (isStaleSignature(signature.t))
      throw new UnauthorizedException('signature expired (older than 5 minutes)');
    const meterNumber = (req.body as { meterNumber?: unknown } | undefined)?.meterNumber;
    if (!req.rawBody || typeof meterNumber !== 'string' || !METER_NUMBER_PATTERN.test(meterNumber)) {
      throw new UnauthorizedException(NOT_AUTHENTIC);
    }
    const target = await this.targets.find(meterNumber);
    const secret = target?.secret ? this.cipher.decrypt(target.secret) : null;
    if (!target || !secret || !signatureMatches(secret, signature, req.rawBody)) {
      throw new UnauthorizedException(NOT_AUTHENTIC);
    }
    const admission = await this.admission.admit(target.id, signature.v1);
    if (admission === 'replayed') throw new UnauthorizedException('signature already used (replay)');
    if (admission === 'rate-limited') {
      throw new HttpException('too many pushes from this meter, slow down', HttpStatus.TOO_MANY_REQUESTS);
    }
    req.pushTarget = target;
    return true;
  }
}
