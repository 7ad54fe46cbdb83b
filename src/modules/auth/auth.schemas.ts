import { z } from 'zod';
import { storableText } from '../../http/text.js';
import { mobileField } from '../users/mobile.js';
import { userSchema } from '../users/user.presenter.js';

export const passwordField = z.string().min(8, 'must be at least 8 characters').max(128, 'must be at most 128 characters');
const otpField = z.string().trim().regex(/^\d{6}$/, 'must be the 6-digit code');

export const authSchemas = (defaultRegion: string) => {
  const mobile = mobileField(defaultRegion);
  return {
    signupBody: z.object({
      mobile,
      name: storableText(1, 100).optional(),
      email: z.email().max(254).optional(),
      password: passwordField.optional(),
    }),
    mobileBody: z.object({ mobile }),
    verifyOtpBody: z.object({ mobile, otp: otpField }),
    loginBody: z.object({ mobile, password: z.string().min(1).max(128) }),
    resetPasswordBody: z.object({ mobile, otp: otpField, newPassword: passwordField }),
    changePasswordBody: z.object({ currentPassword: z.string().min(1).max(128).optional(), newPassword: passwordField }),
    refreshBody: z.object({ refreshToken: z.string().min(1).max(512) }),
  };
};

export const tokenPairSchema = z
  .object({
    accessToken: z.string(),
    refreshToken: z.string(),
    tokenType: z.literal('Bearer'),
    expiresIn: z.number().int().meta({ description: 'access token lifetime in seconds' }),
    user: userSchema,
  })
  .meta({ id: 'TokenPair' });

export const otpIssuedSchema = z
  .object({
    mobile: z.string(),
    purpose: z.enum(['signup', 'login', 'password_reset']),
    expiresAt: z.string(),
    otp: z.string().optional().meta({ description: 'present while OTP delivery is the built-in "response" sender' }),
  })
  .meta({ id: 'OtpIssued' });
