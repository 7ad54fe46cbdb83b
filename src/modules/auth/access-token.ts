import { randomUUID, type KeyObject } from 'node:crypto';
import { SignJWT, jwtVerify } from 'jose';
import { z } from 'zod';

const ISSUER = 'gemini-chat-backend';
const AUDIENCE = 'gemini-chat-api';

const claimsSchema = z.object({ sub: z.uuid(), sid: z.uuid() });
export type AccessClaims = z.infer<typeof claimsSchema>;

export interface AccessTokenCodec {
  sign(claims: AccessClaims, now: Date): Promise<string>;
  /** Undefined for anything but a well-formed, unexpired HS256 token of ours. */
  verify(token: string, now: Date): Promise<AccessClaims | undefined>;
  readonly ttlSeconds: number;
}

export function createAccessTokenCodec(key: KeyObject, ttlSeconds: number): AccessTokenCodec {
  return {
    ttlSeconds,
    sign: ({ sub, sid }, now) => {
      const issuedAt = Math.floor(now.getTime() / 1000);
      return new SignJWT({ sid })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(sub)
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setIssuedAt(issuedAt)
        .setExpirationTime(issuedAt + ttlSeconds)
        .setJti(randomUUID())
        .sign(key);
    },
    verify: async (token, now) => {
      try {
        // The algorithm is pinned: a token that names another (or "none") is refused before its signature is read.
        // exp and iat are required: jose only checks them when present, and a token without exp never dies.
        const { payload } = await jwtVerify(token, key, {
          algorithms: ['HS256'],
          issuer: ISSUER,
          audience: AUDIENCE,
          requiredClaims: ['exp', 'iat'],
          currentDate: now,
        });
        const claims = claimsSchema.safeParse(payload);
        return claims.success ? claims.data : undefined;
      } catch {
        return undefined;
      }
    },
  };
}
