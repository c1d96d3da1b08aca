/** Alarms a meter raises on demand (power-failure / power-restored come with the power-off fault). */
export const TRIGGERED_ALARMS = ['cover-open', 'tamper', 'clock-invalid'] as const;
