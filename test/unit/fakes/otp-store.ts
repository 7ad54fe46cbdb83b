import { randomUUID } from 'node:crypto';
import type { OtpStore } from '../../../src/modules/auth/otp.service.js';
import type { OtpRow } from '../../../src/modules/auth/otp.repository.js';

/**
 * otp.repository.ts over an array: each function does what its SQL statement does (one row per user,
 * purpose and address; "live" = not consumed and not expired), so the service's rules can be tested
 * without a database. Rows are handed out as copies, as a database would.
 */
export function memoryOtpStore(): OtpStore & { rows: OtpRow[] } {
  const rows: OtpRow[] = [];
  const copy = (row: OtpRow): OtpRow => ({ ...row });
  const isLive = (row: OtpRow, now: Date) => row.consumedAt === null && row.expiresAt > now;

  return {
    rows,
    replaceOtpUnlessCoolingDown: (_db, otp, cooldownCutoff) => {
      const existing = rows.find((row) => row.userId === otp.userId && row.purpose === otp.purpose && row.requestedFrom === otp.requestedFrom);
      if (!existing) {
        rows.push({ ...otp, id: randomUUID(), attempts: 0, consumedAt: null });
        return Promise.resolve(true);
      }
      if (existing.sentAt > cooldownCutoff) return Promise.resolve(false);
      Object.assign(existing, { ...otp, attempts: 0, consumedAt: null });
      return Promise.resolve(true);
    },
    findOtpOf: (_db, userId, purpose, requestedFrom) => {
      const row = rows.find((r) => r.userId === userId && r.purpose === purpose && r.requestedFrom === requestedFrom);
      return Promise.resolve(row && copy(row));
    },
    findOtpsOf: (_db, userId, purposes, requestedFrom) =>
      Promise.resolve(rows.filter((r) => r.userId === userId && purposes.includes(r.purpose) && r.requestedFrom === requestedFrom).map(copy)),
    trimLiveOtps: (_db, userId, purpose, keep, now) => {
      const live = rows.filter((r) => r.userId === userId && r.purpose === purpose && isLive(r, now)).sort((a, b) => b.sentAt.getTime() - a.sentAt.getTime());
      for (const surplus of live.slice(keep)) rows.splice(rows.indexOf(surplus), 1);
      return Promise.resolve();
    },
    claimOtpAttempts: (_db, userId, purposes, requestedFrom, maxAttempts, now) => {
      const claimed = rows.filter(
        (r) => r.userId === userId && purposes.includes(r.purpose) && r.requestedFrom === requestedFrom && isLive(r, now) && r.attempts < maxAttempts,
      );
      for (const row of claimed) row.attempts += 1;
      return Promise.resolve(claimed.map(copy));
    },
    findOtherLiveOtps: (_db, userId, purposes, requestedFrom, maxAttempts, now) =>
      Promise.resolve(
        rows
          .filter((r) => r.userId === userId && purposes.includes(r.purpose) && r.requestedFrom !== requestedFrom && isLive(r, now) && r.attempts < maxAttempts)
          .map(copy),
      ),
    consumeOtp: (_db, id, now) => {
      const row = rows.find((r) => r.id === id && r.consumedAt === null);
      if (row) Object.assign(row, { consumedAt: now, pendingPasswordHash: null, pendingEmail: null });
      return Promise.resolve(row !== undefined);
    },
    consumeOtherOtps: (_db, userId, purposes, now) => {
      for (const row of rows) {
        if (row.userId === userId && purposes.includes(row.purpose) && row.consumedAt === null) {
          Object.assign(row, { consumedAt: now, pendingPasswordHash: null, pendingEmail: null });
        }
      }
      return Promise.resolve();
    },
  };
}
