import { describe, expect, it } from 'vitest';
import { maskMobile, mobileField, normalizeMobile } from '../../src/modules/users/mobile.js';

/* Mobile numbers (API.md "Users"): any common way of writing one is the same account; nonsense is a 400. */

describe('normalising a mobile number', () => {
  it.each([
    ['+91 98765 43210', 'IN'],
    ['+91-98765-43210', 'IN'],
    ['(+91) 9876543210', 'IN'],
    ['98765 43210', 'IN'],
    ['09876543210', 'IN'],
    ['+919876543210', 'US'],
  ])('reads %s (default region %s) as +919876543210', (input, region) => {
    expect(normalizeMobile(input, region)).toBe('+919876543210');
  });

  it('reads a number without + in the default region: the same digits are different numbers in the US and in the UK', () => {
    expect(normalizeMobile('(201) 555-0123', 'US')).toBe('+12015550123');
    expect(normalizeMobile('07400 123456', 'GB')).toBe('+447400123456');
  });

  it.each(['12345', '+91 12345', '+99 9876543210', 'not a number', '+91 98765 43210 99', ''])('refuses %j', (input) => {
    expect(normalizeMobile(input, 'IN')).toBeUndefined();
  });
});

describe('the mobile request field', () => {
  const field = mobileField('IN');

  it('trims and normalises to E.164', () => {
    expect(field.parse('  98765-43210 ')).toBe('+919876543210');
  });

  it("refuses an invalid number with a message that quotes what was sent", () => {
    const result = field.safeParse('555-CALL-NOW');
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toBe("'555-CALL-NOW' is not a valid mobile number");
  });

  it('refuses an empty or over-long value before parsing it', () => {
    expect(field.safeParse('   ').success).toBe(false);
    expect(field.safeParse('9'.repeat(33)).success).toBe(false);
  });
});

describe('masking a mobile number for logs', () => {
  it('keeps the country code and the last two digits only', () => {
    expect(maskMobile('+919876543210')).toBe('+91******10');
  });
});
