import { POLL_JOBS } from '@app/contracts';
import { desiredSchedulers, ExistingScheduler, planReconciliation } from './poll-schedule.plan';

const asExisting = (intervalMs: number): ExistingScheduler[] =>
  desiredSchedulers(intervalMs).map((d) => ({ ...d }));

describe('poll schedule plan', () => {
  it('wants one tick scheduler per slot plus maintenance', () => {
    const d = desiredSchedulers(60000);
    expect(d.filter((s) => s.name === POLL_JOBS.TICK)).toHaveLength(60);
    expect(d.filter((s) => s.name === POLL_JOBS.MAINTENANCE)).toHaveLength(1);
    expect(new Set(d.map((s) => s.id)).size).toBe(d.length);
    expect(d.every((s) => s.every > 0 && s.offset > 0)).toBe(true);
  });

  it('adds everything after a flush and nothing when complete', () => {
    expect(planReconciliation(desiredSchedulers(2000), []).add).toHaveLength(3);
    expect(planReconciliation(desiredSchedulers(2000), asExisting(2000))).toEqual({ add: [], remove: [] });
  });

  it("replaces another interval's slots and removes the extra ones", () => {
    const plan = planReconciliation(desiredSchedulers(2000), asExisting(5000));
    expect(plan.add.map((s) => s.id).sort()).toEqual(['poll-slot:0', 'poll-slot:1']);
    expect(plan.remove.sort()).toEqual([
      'poll-slot:0',
      'poll-slot:1',
      'poll-slot:2',
      'poll-slot:3',
      'poll-slot:4',
    ]);
  });

  it('re-adds a scheduler whose offset or data drifted, and leaves foreign schedulers alone', () => {
    const existing = asExisting(2000);
    existing[0] = { ...existing[0], offset: 1 };
    existing.push({ id: 'someone-else', name: 'x', every: 1000 });
    const plan = planReconciliation(desiredSchedulers(2000), existing);
    expect(plan.add.map((s) => s.id)).toEqual(['poll-slot:0']);
    expect(plan.remove).toEqual(['poll-slot:0']);
  });
});
