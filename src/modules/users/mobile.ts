import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import { z } from 'zod';

/** `"+91 98765-43210"` → `"+919876543210"`; undefined when it is not a valid number. */
export function normalizeMobile(input: string, defaultRegion: string): string | undefined {
  const parsed = parsePhoneNumberFromString(input, defaultRegion as CountryCode);
  return parsed?.isValid() ? parsed.number : undefined;
}

/** The request field: any common way of writing a number in, E.164 out. */
export const mobileField = (defaultRegion: string) =>
  z
    .string()
    .trim()
    .min(1)
    .max(32)
    .transform((value, ctx) => {
      const mobile = normalizeMobile(value, defaultRegion);
      if (mobile === undefined) {
        ctx.addIssue({ code: 'custom', message: `'${value}' is not a valid mobile number` });
        return z.NEVER;
      }
      return mobile;
    })
    .meta({ description: 'Mobile number; normalised to E.164', example: '+919876543210' });

/** For logs: enough to tell numbers apart, not enough to call one. */
export const maskMobile = (mobile: string) => `${mobile.slice(0, 3)}******${mobile.slice(-2)}`;
