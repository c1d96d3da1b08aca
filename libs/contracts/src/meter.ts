/** Kept here (not imported from the database lib) so contracts stay dependency-free. */
export type MeterStatus = 'online' | 'offline' | 'active' | 'warehouse' | 'faulty';
