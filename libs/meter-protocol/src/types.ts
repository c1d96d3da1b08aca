import type { CommunicationStatus, ObisReadingValue } from '@app/contracts';
import type { MeterAddressPolicy } from '@app/meter-network';
import type { ProfilePage } from './profile-parser';

/** Injection token of the configured MeterTransport (see MeterProtocolModule). */
export const METER_TRANSPORT = Symbol('METER_TRANSPORT');

export const METER_TRANSPORT_KINDS = ['undici', 'axios'] as const;
export type MeterTransportKind = (typeof METER_TRANSPORT_KINDS)[number];

/** Where a meter answers. `meterNumber` lets one gateway address serve many meters. */
export interface MeterTarget {
  ipAddress: string;
  port: number;
  meterNumber: string;
}

export interface MeterReadResult {
  /** success: every requested code usable; partial: some error/missing; failed: none usable. */
  communicationStatus: CommunicationStatus;
  /** One entry per requested code (canonical, de-duplicated, in request order). */
  readings: ObisReadingValue[];
  /** Milliseconds from the start of the exchange to the parsed body. */
  responseTime: number;
  /** Why the read is partial or failed (which codes, and how). */
  error?: string;
}

/** A page of a meter's load profile (see profile-parser.ts) and how long the exchange took. */
export interface MeterProfileResult extends ProfilePage {
  responseTime: number;
}

export type MeterWriteValue = string | number | boolean;

export interface MeterWriteResult {
  /** True when the meter confirmed the write. */
  success: boolean;
  /** What the meter reported as the value before the write, when it says. */
  previousValue?: MeterWriteValue | null;
  responseTime: number;
  /** The meter's reason when it refused. */
  error?: string;
  /** HTTP status of the meter's answer. */
  statusCode?: number;
}

/**
 * How the worker talks to a meter. `read` and `write` throw MeterCommunicationError when the exchange
 * fails (refused, timeout, reset, HTTP error, unusable body, address not allowed); a usable answer is
 * returned as a result, even when some or all of its values are unusable.
 */
export interface MeterTransport {
  readonly kind: MeterTransportKind;
  /**
   * Empty `obisCodes` means the seed guide's 17 defaults. Codes may be in any accepted spelling; one
   * that is not an OBIS code throws TypeError before any connection (validate configurations first).
   */
  read(target: MeterTarget, obisCodes: readonly string[]): Promise<MeterReadResult>;
  write(target: MeterTarget, obisCode: string, value: MeterWriteValue): Promise<MeterWriteResult>;
  /**
   * One page (≤ 96 entries) of a load profile with from ≤ capture instant ≤ to; `more` means ask again
   * after the last entry. Throws MeterCommunicationError like `read`.
   */
  readProfile(target: MeterTarget, profile: string, from: Date, to: Date): Promise<MeterProfileResult>;
  /** Closes pooled connections; idempotent. Later calls fail with kind 'network'. */
  close(): Promise<void>;
}

export interface MeterTransportOptions {
  /** Whole-exchange deadline: connect + headers + body (METER_TIMEOUT_MS). */
  timeoutMs: number;
  /** Response size cap (METER_RESPONSE_MAX_BYTES). */
  maxResponseBytes: number;
  /** Where meters may be contacted (METER_ALLOWED_NETWORKS, METER_ALLOWED_PORTS). */
  addressPolicy: MeterAddressPolicy;
  /** Concurrent connections per meter address (gateways serve many meters on one). Default 64. */
  connectionsPerOrigin?: number;
  /** How long an idle keep-alive connection is kept. Default 4000 ms. */
  keepAliveTimeoutMs?: number;
}
