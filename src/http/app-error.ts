/** Every error code a client can see. Stable: clients branch on these, never on `detail`. */
export type ErrorCode =
  | 'VALIDATION_FAILED'
  | 'INVALID_JSON'
  | 'UNAUTHORIZED'
  | 'NOT_FOUND'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'NOT_ACCEPTABLE'
  | 'MALFORMED_REQUEST'
  | 'REQUEST_TIMEOUT'
  | 'HEADERS_TOO_LARGE'
  | 'RATE_LIMITED'
  | 'INTERNAL'
  | 'SERVICE_UNAVAILABLE'
  | 'MOBILE_TAKEN'
  | 'USER_NOT_FOUND'
  | 'OTP_COOLDOWN'
  | 'OTP_INVALID'
  | 'OTP_EXPIRED'
  | 'OTP_ATTEMPTS_EXCEEDED'
  | 'INVALID_CREDENTIALS'
  | 'WRONG_PASSWORD'
  | 'CHATROOM_NOT_FOUND'
  | 'MESSAGE_NOT_FOUND'
  | 'REPLY_IN_PROGRESS'
  | 'QUOTA_EXCEEDED'
  | 'TOO_MANY_PENDING_REPLIES'
  | 'TOO_MANY_STREAMS'
  | 'MODEL_FAILED'
  | 'IDEMPOTENCY_KEY_REUSED'
  | 'ALREADY_SUBSCRIBED'
  | 'NO_BILLING_ACCOUNT'
  | 'INVALID_SIGNATURE'
  | 'PAYMENT_PROVIDER_ERROR'
  | 'CHECKOUT_NOT_FOUND'
  | 'CHECKOUT_CLOSED'
  | 'PORTAL_SESSION_NOT_FOUND'
  | 'FILE_NOT_FOUND'
  | 'STORAGE_QUOTA_EXCEEDED'
  | 'RANGE_NOT_SATISFIABLE'
  | 'SHARE_NOT_FOUND';

export interface FieldError {
  path: string;
  message: string;
}

export interface AppErrorOptions {
  errors?: FieldError[];
  headers?: Record<string, string>;
  /** Extra members of the problem body (for example `replyId`). */
  extensions?: Record<string, unknown>;
  cause?: unknown;
}

/** The one error type of the app; the error handler turns it into an RFC 9457 problem. */
export class AppError extends Error {
  override name = 'AppError';

  constructor(
    readonly code: ErrorCode,
    readonly status: number,
    readonly detail: string,
    readonly options: AppErrorOptions = {},
  ) {
    super(detail, { cause: options.cause });
  }
}

export const validationError = (path: string, message: string) =>
  new AppError('VALIDATION_FAILED', 400, `${path}: ${message}`, { errors: [{ path, message }] });
