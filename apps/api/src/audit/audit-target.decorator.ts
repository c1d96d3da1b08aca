import { SetMetadata, type CustomDecorator } from '@nestjs/common';

export const AUDIT_TARGET_KEY = 'audit:target';

/** What a controller's state-changing routes act on: the audit action is `<target>.<handler name>`. */
export type AuditTargetType = 'meter' | 'area' | 'user' | 'api-key' | 'session' | 'polling';

export const AuditTarget = (target: AuditTargetType): CustomDecorator<string> =>
  SetMetadata(AUDIT_TARGET_KEY, target);
