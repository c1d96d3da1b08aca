import { areaCodes, useVisibleAreas } from '../areas';
import { useSession } from '../auth';

/** The part of the fleet the logged-in user sees: all areas, or the codes of theirs. */
export function ScopeBadge() {
  const areaIds = useSession()?.user.areaIds ?? [];
  const scoped = areaIds.length > 0;
  const areas = useVisibleAreas(scoped);
  return (
    <span className="scope" data-testid="user-scope">
      {scoped ? `Areas: ${areas.data ? areaCodes(areaIds, areas.data) : '…'}` : 'All areas'}
    </span>
  );
}
