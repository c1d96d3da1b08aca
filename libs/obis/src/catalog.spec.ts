import { DEFAULT_OBIS_CODES } from './defaults';
import { OBIS_CATALOG, findObisDefinition, isWritable } from './catalog';
import { canonicalObisCode } from './obis-code';

describe('OBIS catalog', () => {
  it('has every default code, flagged, with the seed guide name', () => {
    const expected: Record<string, string> = {
      '1-0:15.8.0.255': 'Total Active Energy',
      '1-0:1.8.0.255': 'Active Energy Import',
      '1-0:2.8.0.255': 'Active Energy Export',
      '1-0:32.7.0.255': 'Voltage L1',
      '1-0:52.7.0.255': 'Voltage L2',
      '1-0:72.7.0.255': 'Voltage L3',
      '1-0:31.7.0.255': 'Current L1',
      '1-0:51.7.0.255': 'Current L2',
      '1-0:71.7.0.255': 'Current L3',
      '1-0:1.7.0.255': 'Total Active Power',
      '1-0:21.7.0.255': 'Active Power L1',
      '1-0:41.7.0.255': 'Active Power L2',
      '1-0:61.7.0.255': 'Active Power L3',
      '1-0:14.7.0.255': 'Frequency',
      '1-0:13.7.0.255': 'Power Factor',
      '0-0:1.0.0.255': 'Clock',
      '0-0:96.1.0.255': 'Meter Serial Number',
    };
    expect(Object.keys(expected).sort()).toEqual([...DEFAULT_OBIS_CODES].sort());
    for (const [code, name] of Object.entries(expected)) {
      expect(findObisDefinition(code)).toMatchObject({ code, name, isDefault: true });
    }
    expect(OBIS_CATALOG.filter((d) => d.isDefault)).toHaveLength(17);
  });

  it.each([
    ['1-0:15.8.0.255', 'Wh', 0],
    ['1-0:32.7.0.255', 'V', -1],
    ['1-0:71.7.0.255', 'A', -2],
    ['1-0:61.7.0.255', 'W', 0],
    ['1-0:14.7.0.255', 'Hz', -2],
    ['1-0:13.7.0.255', null, -3],
  ])('%s is a read-only class 3 register in %p with scaler %p', (code, unit, scaler) => {
    expect(findObisDefinition(code)).toMatchObject({
      unit,
      defaultScaler: scaler,
      classId: 3,
      attribute: 2,
      access: 'R',
      valueType: 'number',
    });
  });

  it('describes clock, serial number and the writable control objects', () => {
    expect(findObisDefinition('0-0:1.0.0.255')).toMatchObject({
      classId: 8,
      access: 'RW',
      valueType: 'datetime',
      unit: null,
    });
    expect(findObisDefinition('0-0:96.1.0.255')).toMatchObject({
      classId: 1,
      access: 'R',
      valueType: 'string',
    });
    expect(findObisDefinition('0-0:96.3.10.255')).toMatchObject({
      classId: 70,
      access: 'RW',
      valueType: 'enum',
      enumValues: ['disconnected', 'connected', 'ready_for_reconnection'],
    });
    expect(findObisDefinition('0-0:17.0.0.255')).toMatchObject({
      classId: 71,
      access: 'RW',
      valueType: 'number',
      unit: 'W',
    });
    expect(findObisDefinition('1-0:3.8.0.255')).toMatchObject({
      unit: 'varh',
      access: 'R',
      isDefault: false,
    });
  });

  it('stores canonical, unique codes', () => {
    const codes = OBIS_CATALOG.map((d) => d.code);
    expect(new Set(codes).size).toBe(codes.length);
    for (const code of codes) expect(canonicalObisCode(code)).toBe(code);
  });

  it('finds entries by any spelling and nothing for unknown or invalid codes', () => {
    expect(findObisDefinition('1.8.0')?.name).toBe('Active Energy Import');
    expect(findObisDefinition('0100010800FF')?.name).toBe('Active Energy Import');
    expect(findObisDefinition(' 1-0:32.7.0 ')?.name).toBe('Voltage L1');
    expect(findObisDefinition('1-0:99.1.0.255')).toBeUndefined();
    expect(findObisDefinition('nonsense')).toBeUndefined();
  });

  it('only catalog RW codes are writable', () => {
    expect(isWritable('0-0:1.0.0.255')).toBe(true);
    expect(isWritable('0-0:96.3.10.255')).toBe(true);
    expect(isWritable('0.0.17.0.0.255')).toBe(true);
    expect(isWritable('1-0:1.8.0.255')).toBe(false);
    expect(isWritable('0-0:96.1.0.255')).toBe(false);
    expect(isWritable('1-0:99.1.0.255')).toBe(false);
    expect(isWritable('garbage')).toBe(false);
  });

  it('is frozen', () => {
    expect(Object.isFrozen(OBIS_CATALOG)).toBe(true);
    expect(Object.isFrozen(OBIS_CATALOG[0])).toBe(true);
  });
});
