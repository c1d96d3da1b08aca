export * from './allowed-networks';
