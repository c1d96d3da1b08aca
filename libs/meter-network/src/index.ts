export * from './allowed-networks';
export * from './allowed-ports';
export * from './meter-address-policy';
