import { AccessScope } from './access-scope';
import { credentialFromHeaders } from './credentials';

describe('credentialFromHeaders', () => {
  it('takes a bearer token or key, or an X-API-Key', () => {
    expect(credentialFromHeaders({ authorization: 'Bearer abc.def.ghi' })).toEqual({
      credential: 'abc.def.ghi',
    });
    expect(credentialFromHeaders({ authorization: 'bearer hes_k' })).toEqual({ credential: 'hes_k' });
    expect(credentialFromHeaders({ 'x-api-key': ' hes_k ' })).toEqual({ credential: 'hes_k' });
  });

  it('refuses what is missing, malformed or ambiguous', () => {
    expect(credentialFromHeaders({})).toEqual({ missing: true });
    expect(credentialFromHeaders({ authorization: 'Basic abc' })).toHaveProperty('malformed');
    expect(credentialFromHeaders({ authorization: `Bearer ${'x'.repeat(3000)}` })).toHaveProperty(
      'malformed',
    );
    expect(credentialFromHeaders({ 'x-api-key': 'eyJhbGciOi.jwt.not-a-key' })).toHaveProperty('malformed');
    expect(credentialFromHeaders({ authorization: 'Bearer a', 'x-api-key': 'hes_k' })).toHaveProperty(
      'malformed',
    );
  });
});

describe('AccessScope', () => {
  const a = '11111111-1111-4111-8111-111111111111';
  const b = '22222222-2222-4222-8222-222222222222';

  it('is fleet-wide without areas, and then adds no condition', () => {
    const scope = AccessScope.of({ areaIds: [] });
    expect(scope).toBe(AccessScope.fleet);
    expect(scope.isFleetWide).toBe(true);
    expect(scope.allowsArea(b)).toBe(true);
  });

  it('allows only its areas', () => {
    const scope = AccessScope.of({ areaIds: [a, a] });
    expect(scope.isFleetWide).toBe(false);
    expect(scope.areaIds).toEqual([a]);
    expect(scope.allowsArea(a.toUpperCase())).toBe(true);
    expect(scope.allowsArea(b)).toBe(false);
  });
});
