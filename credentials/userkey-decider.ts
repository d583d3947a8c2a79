import type { Decider } from '../core/decider';
import { assertNever } from '../core/event';
import type { KeyPairGenerated, UserKeyEvent } from './events';

/**
 * A user's key pair (stream `userkey-<userId>`). The pair is generated inside the HSM by the
 * adapter; this aggregate records which one is the user's, so there is exactly one active pair
 * even when two provisioners race to create it (the loser's append decides nothing).
 */
export interface UserKeyState {
  active?: KeyPairGenerated['data'];
  revoked: string[]; // fingerprints
}

export type UserKeyCommand =
  | { kind: 'RecordKeyPair'; at: number; key: Omit<KeyPairGenerated['data'], 'generatedAt'> }
  | { kind: 'RevokeKeyPair'; at: number; reason: string };

export const initialUserKeyState: UserKeyState = { revoked: [] };

function decide(cmd: UserKeyCommand, s: UserKeyState): UserKeyEvent[] {
  switch (cmd.kind) {
    case 'RecordKeyPair':
      if (s.active) return [];
      if (s.revoked.includes(cmd.key.fingerprint)) return [];
      return [{ type: 'KeyPairGenerated', data: { ...cmd.key, generatedAt: new Date(cmd.at).toISOString() } }];
    case 'RevokeKeyPair':
      if (!s.active) return [];
      return [
        {
          type: 'KeyPairRevoked',
          data: { userId: s.active.userId, fingerprint: s.active.fingerprint, revokedAt: new Date(cmd.at).toISOString(), reason: cmd.reason },
        },
      ];
    default:
      return assertNever(cmd, 'user key command');
  }
}

function evolve(s: UserKeyState, e: UserKeyEvent): UserKeyState {
  switch (e.type) {
    case 'KeyPairGenerated':
      return { ...s, active: e.data };
    case 'KeyPairRevoked':
      return s.active?.fingerprint === e.data.fingerprint
        ? { active: undefined, revoked: [...s.revoked, e.data.fingerprint] }
        : { ...s, revoked: [...s.revoked, e.data.fingerprint] };
    default:
      return assertNever(e, 'user key event');
  }
}

export const userKeyDecider: Decider<UserKeyCommand, UserKeyState, UserKeyEvent> = {
  initialState: initialUserKeyState,
  decide,
  evolve,
};
