import type { FastifyBaseLogger } from 'fastify';
import { maskMobile } from '../users/mobile.js';
import type { OtpPurpose } from './otp.repository.js';

export interface OtpDelivery {
  mobile: string;
  purpose: OtpPurpose;
  code: string;
  expiresAt: Date;
}

/** How a code reaches the user. An SMS provider is one more implementation of this. */
export interface OtpSender {
  /** True when the API response itself carries the code (there is no other channel). */
  readonly revealsCodeInResponse: boolean;
  send(delivery: OtpDelivery): Promise<void>;
}

/** The product has no SMS provider: the code travels back in the API response. */
export const responseOtpSender: OtpSender = {
  revealsCodeInResponse: true,
  send: () => Promise.resolve(),
};

/**
 * Records that a code was issued, without the code: codes never reach a log. It is the shape a real
 * provider's adapter takes, and keeps the code out of responses.
 */
export const logOtpSender = (log: FastifyBaseLogger): OtpSender => ({
  revealsCodeInResponse: false,
  send: ({ mobile, purpose, expiresAt }) => {
    log.info({ mobile: maskMobile(mobile), purpose, expiresAt }, 'OTP issued (log sender: the code is not delivered anywhere)');
    return Promise.resolve();
  },
});
