import type { MeterStatus } from '../api/types';

export function StatusBadge({ status }: { status: MeterStatus }) {
  return <span className={`badge status-${status}`}>{status}</span>;
}
