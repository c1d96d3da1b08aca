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

  it('rejects a malformed list', () => {
    expect(() => AllowedNetworks.parse('10.0.0.0/33')).toThrow(/CIDR/);
    expect(() => AllowedNetworks.parse('example.com/8')).toThrow(/CIDR/);
  });
});
