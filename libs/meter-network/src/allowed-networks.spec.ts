import { AllowedNetworks } from './allowed-networks';

describe('AllowedNetworks', () => {
  const nets = AllowedNetworks.parse('10.0.0.0/8, 172.16.0.0/12,192.168.0.0/16,100.64.0.0/10, fd00::/8');

  it.each(['10.1.2.3', '172.31.255.255', '192.168.1.100', '100.64.0.1', 'fd12::1', '::ffff:10.0.0.1'])(
    'allows %s',
    (ip) => expect(nets.contains(ip)).toBe(true),
  );

  it.each(['8.8.8.8', '172.32.0.1', '127.0.0.1', '169.254.169.254', '::1', 'meter.local', '', '10.0.0'])(
    'refuses %p',
    (ip) => expect(nets.contains(ip)).toBe(false),
  );

  it('judges IPv4 block edges exactly, /32 and /0 included', () => {
    const edges = AllowedNetworks.parse('10.20.30.40/32, 192.168.4.0/22');
    expect(['10.20.30.40', '192.168.4.0', '192.168.7.255'].map((ip) => edges.contains(ip))).toEqual([
      true,
      true,
      true,
    ]);
    expect(
      ['10.20.30.41', '192.168.3.255', '192.168.8.0', '255.255.255.255'].map((ip) => edges.contains(ip)),
    ).toEqual([false, false, false, false]);
    expect(AllowedNetworks.parse('0.0.0.0/0').contains('203.0.113.9')).toBe(true);
  });

  it('rejects a malformed list', () => {
    expect(() => AllowedNetworks.parse('10.0.0.0/33')).toThrow(/CIDR/);
    expect(() => AllowedNetworks.parse('example.com/8')).toThrow(/CIDR/);
  });
});
