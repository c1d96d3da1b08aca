import type { Area } from '../api/types';

/**
 * Several areas as checkboxes; none ticked means fleet-wide. `disabled` with a reason when areas do not
 * apply (admins are always fleet-wide).
 */
export function AreaPicker({
  legend,
  areas,
  value,
  onChange,
  disabledReason,
}: {
  legend: string;
  areas: readonly Area[];
  value: readonly string[];
  onChange: (ids: string[]) => void;
  disabledReason?: string;
}) {
  const toggle = (id: string, on: boolean) => onChange(on ? [...value, id] : value.filter((v) => v !== id));
  return (
    <fieldset className="area-picker" disabled={disabledReason !== undefined}>
      <legend>{legend}</legend>
      {areas.map((a) => (
        <label key={a.id} className="check">
          <input
            type="checkbox"
            checked={value.includes(a.id)}
            onChange={(e) => toggle(a.id, e.target.checked)}
          />
          {a.code}
        </label>
      ))}
      <span className="muted">
        {disabledReason ?? (value.length === 0 ? 'none ticked: all areas' : `${value.length} selected`)}
      </span>
    </fieldset>
  );
}
