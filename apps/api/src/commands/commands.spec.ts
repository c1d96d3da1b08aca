import { HttpStatus } from '@nestjs/common';
import { commandDeadlines } from './command-queue';
import { canonicalCodes, failureToHttp } from './commands.service';

describe('failureToHttp', () => {
  it.each([
    ['timeout', HttpStatus.GATEWAY_TIMEOUT],
    ['refused', HttpStatus.GATEWAY_TIMEOUT],
    ['reset', HttpStatus.GATEWAY_TIMEOUT],
    ['network', HttpStatus.GATEWAY_TIMEOUT],
    ['http-error', HttpStatus.BAD_GATEWAY],
    ['invalid-response', HttpStatus.BAD_GATEWAY],
    ['too-large', HttpStatus.BAD_GATEWAY],
    [undefined, HttpStatus.BAD_GATEWAY],
    ['not-allowed', HttpStatus.CONFLICT],
    ['expired', HttpStatus.SERVICE_UNAVAILABLE],
    ['busy', HttpStatus.SERVICE_UNAVAILABLE],
    ['not-found', HttpStatus.NOT_FOUND],
  ])('%s → %i', (kind, status) => {
    const err = failureToHttp(kind, 'why', 'MTR-1');
    expect(err.getStatus()).toBe(status);
    expect(err.message).toContain('MTR-1');
  });
});

describe('canonicalCodes', () => {
  it('canonicalises and de-duplicates in request order', () => {
    expect(canonicalCodes(['1.8.0', '1-0:32.7.0.255', '0100010800FF', ' 1-0:32.7.0 '])).toEqual([
      '1-0:1.8.0.255',
      '1-0:32.7.0.255',
    ]);
  });

  it('names every malformed code in one 400', () => {
    expect(() => canonicalCodes(['1.8.0', 'x', '1-0:1.8.0.999'])).toThrow(/"x", "1-0:1.8.0.999"/);
  });
});

describe('commandDeadlines', () => {
  it('lets the worker start within one meter timeout plus grace and waits one exchange more', () => {
    expect(commandDeadlines(10_000, 1_000)).toEqual({ notAfter: 13_000, waitMs: 24_000 });
  });
});
