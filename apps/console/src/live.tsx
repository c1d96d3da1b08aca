import { createContext, useContext, useEffect, useRef, useState, type ReactNode } from 'react';
import { io, type Socket } from 'socket.io-client';
import type { MeterReadingUpdateEvent, MeterStatusChangeEvent } from './api/types';
import { session } from './session';

interface ServerEvents {
  'meter-reading-update': (e: MeterReadingUpdateEvent) => void;
  'meter-status-change': (e: MeterStatusChangeEvent) => void;
}
interface ClientEvents {
  'join-room': (body: { room: string }, ack: (a: { success: boolean; message?: string }) => void) => void;
  'leave-room': (body: { room: string }) => void;
}
type LiveSocket = Socket<ServerEvents, ClientEvents>;

const SocketContext = createContext<LiveSocket | null>(null);

/**
 * One Socket.IO connection per logged-in session (same origin, token in `auth`), closed at logout.
 * websocket only: no long-polling fallback, so several api instances need no sticky sessions.
 */
export function LiveProvider({ token, children }: { token: string; children: ReactNode }) {
  const [socket, setSocket] = useState<LiveSocket | null>(null);
  useEffect(() => {
    const s: LiveSocket = io({ auth: { token }, transports: ['websocket'] });
    // The api refuses an expired token or a deactivated user (docs/realtime.md): log in again.
    s.on('connect_error', (err) => {
      if (err.message === 'unauthorized') session.clear();
    });
    setSocket(s);
    return () => {
      s.disconnect();
    };
  }, [token]);
  return <SocketContext.Provider value={socket}>{children}</SocketContext.Provider>;
}

export function useConnected(): boolean {
  const socket = useContext(SocketContext);
  const [connected, setConnected] = useState(socket?.connected ?? false);
  useEffect(() => {
    if (!socket) return;
    const on = () => setConnected(true);
    const off = () => setConnected(false);
    setConnected(socket.connected);
    socket.on('connect', on);
    socket.on('disconnect', off);
    return () => {
      socket.off('connect', on);
      socket.off('disconnect', off);
    };
  }, [socket]);
  return connected;
}

interface RoomHandlers {
  onReading?: (e: MeterReadingUpdateEvent) => void;
  onStatus?: (e: MeterStatusChangeEvent) => void;
  /** After a (re)connection that did not recover the session: the page refreshes its state over REST. */
  onResync?: () => void;
}

/**
 * Joins `room` while the component is mounted (again after a reconnection that lost the session, as
 * docs/realtime.md says) and calls the handlers for its events. Handlers may change on every render.
 */
export function useRoom(room: string | null, handlers: RoomHandlers): void {
  const socket = useContext(SocketContext);
  const ref = useRef(handlers);
  ref.current = handlers;
  useEffect(() => {
    if (!socket || !room) return;
    const join = () => {
      socket.emit('join-room', { room }, () => undefined);
    };
    const onConnect = () => {
      if (socket.recovered) return;
      join();
      ref.current.onResync?.();
    };
    const onReading = (e: MeterReadingUpdateEvent) => ref.current.onReading?.(e);
    const onStatus = (e: MeterStatusChangeEvent) => ref.current.onStatus?.(e);
    socket.on('connect', onConnect);
    socket.on('meter-reading-update', onReading);
    socket.on('meter-status-change', onStatus);
    if (socket.connected) join();
    return () => {
      socket.off('connect', onConnect);
      socket.off('meter-reading-update', onReading);
      socket.off('meter-status-change', onStatus);
      if (socket.connected) socket.emit('leave-room', { room });
    };
  }, [socket, room]);
}
