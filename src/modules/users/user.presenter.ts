import { z } from 'zod';
import type { Account } from './user.repository.js';

export const userSchema = z
  .object({
    id: z.string(),
    mobile: z.string(),
    name: z.string().nullable(),
    email: z.string().nullable(),
    hasPassword: z.boolean(),
    tier: z.enum(['basic', 'pro']),
    createdAt: z.string(),
  })
  .meta({ id: 'User' });

export type UserDto = z.infer<typeof userSchema>;

export const toUserDto = (user: Account): UserDto => ({
  id: user.id,
  mobile: user.mobile,
  name: user.name,
  email: user.email,
  hasPassword: user.passwordHash !== null,
  tier: user.tier,
  createdAt: user.createdAt.toISOString(),
});
