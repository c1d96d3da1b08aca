import type { User } from './api/types';

/**
 * Where the access token lives (docs/console.md): in memory, mirrored to sessionStorage so that a reload
 * of the tab keeps the operator logged in. Not localStorage: a sessionStorage token ends with the tab,
 * is not shared with other tabs or left on a shared control-room PC after the browser closes.
 * Not a cookie: the api authenticates with bearer tokens (REST and Socket.IO), and a cookie would make
 * every /api call CSRF-exposed.
 */
const KEY = 'hes.session';

export interface Session {
  token: string;
  user: User;
}

type Listener = (s: Session | null) => void;

function load(): Session | null {
  try {
    const raw = sessionStorage.getItem(KEY);
    return raw ? (JSON.parse(raw) as Session) : null;
  } catch {
    return null;
  }
}

let current: Session | null = load();
const listeners = new Set<Listener>();

export const session = {
  get: (): Session | null => current,
  token: (): string | null => current?.token ?? null,
  set(next: Session): void {
    current = next;
    sessionStorage.setItem(KEY, JSON.stringify(next));
    listeners.forEach((l) => l(current));
  },
  clear(): void {
    if (!current) return;
    current = null;
    sessionStorage.removeItem(KEY);
    listeners.forEach((l) => l(current));
  },
  subscribe(l: Listener): () => void {
    listeners.add(l);
    return () => listeners.delete(l);
  },
};
