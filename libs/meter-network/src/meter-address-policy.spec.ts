import { AllowedPorts } from './allowed-ports';
import { canonicalMeterAddress, MeterAddressPolicy } from './meter-address-policy';

describe('MeterAddressPolicy', () => {
  const policy = MeterAddressPolicy.parse('10.0.0.0/8,192.168.0.0/16', '8080,80');

  it('accepts a meter inside the networks on an allowed port', () => {
    expect(policy.refusal('10.1.2.3', 8080)).toBeNull();
    expect(policy.refusal('192.168.1.100', 80)).toBeNull();
    expect(policy.refusal('::ffff:10.0.0.1', 8080)).toBeNull();
    expect(policy.refusal('::ffff:a00:1', 80)).toBeNull();
  });

  it('refuses the infrastructure ports even inside an allowed network', () => {
    for (const port of [5432, 6379, 5000, 22, 0, 65536, 8080.5]) {
      expect(policy.refusal('10.1.2.3', port)).toBe('port');
    }
    expect(policy.describe('port', '10.1.2.3', 5432)).toBe(
      'port 5432 is not in METER_ALLOWED_PORTS (8080,80)',
    );
  });

  // Spellings of 127.0.0.1 that some resolvers accept: none is an address here, none passes.
  it.each(['0x7f.1', '0x7f000001', '2130706433', '0177.0.0.1', '127.1', '127.0.0.01', 'localhost', ''])(
    'refuses %p as not an IP literal',
    (spelling) => expect(policy.refusal(spelling, 8080)).toBe('not-an-ip'),
  );

  it.each([
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '0:0:0:0:0:ffff:7f00:1',
    '::FFFF:7F00:1',
    '127.0.0.1',
    '::1',
  ])('refuses the IPv4-mapped and plain loopback spelling %p as outside the networks', (spelling) =>
    expect(policy.refusal(spelling, 8080)).toBe('network'),
  );

  it('stores IPv4-mapped IPv6 addresses as the IPv4 address they reach', () => {
    expect(canonicalMeterAddress('::ffff:7f00:1')).toBe('127.0.0.1');
    expect(canonicalMeterAddress('::FFFF:192.168.1.100')).toBe('192.168.1.100');
    expect(canonicalMeterAddress('0:0:0:0:0:ffff:a00:1')).toBe('10.0.0.1');
    expect(canonicalMeterAddress('FD00::1')).toBe('fd00::1');
    expect(canonicalMeterAddress('::1')).toBe('::1');
    expect(canonicalMeterAddress('10.0.0.1')).toBe('10.0.0.1');
  });
});

describe('AllowedPorts', () => {
  it('reads single ports and ranges', () => {
    const ports = AllowedPorts.parse(' 8080, 80,20000-20010 ');
    expect([80, 8080, 20000, 20010].map((p) => ports.contains(p))).toEqual([true, true, true, true]);
    expect([81, 19999, 20011].map((p) => ports.contains(p))).toEqual([false, false, false]);
    expect(String(ports)).toBe('8080,80,20000-20010');
  });

  it.each(['', '0', '65536', '80-79', 'http', '80;443'])('rejects %p', (list) =>
    expect(() => AllowedPorts.parse(list)).toThrow(/port/),
  );
});
