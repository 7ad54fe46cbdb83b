import { describe, expect, it } from 'vitest';
import { formatSize } from '../../src/shared/byte-size.js';

/* Sizes as people read them, on the chat page and in the offline stand-in's replies (src/shared/byte-size.ts). */

describe('sizes: binary units, as the server means its limits', () => {
  it('counts bytes below a kibibyte, then one decimal below ten, then whole units', () => {
    expect(formatSize(0)).toBe('0 B');
    expect(formatSize(1_023)).toBe('1023 B');
    expect(formatSize(1_024)).toBe('1 KiB');
    expect(formatSize(1_234)).toBe('1.2 KiB');
    expect(formatSize(45_678)).toBe('45 KiB');
    expect(formatSize(20 * 1024 * 1024)).toBe('20 MiB');
    expect(formatSize(2 * 1024 ** 3)).toBe('2 GiB');
  });

  it('says the default limits as the README does: 20 MiB an upload, 100 MiB of storage, 2 GiB on Pro', () => {
    expect(formatSize(20_971_520)).toBe('20 MiB');
    expect(formatSize(104_857_600)).toBe('100 MiB');
    expect(formatSize(2_147_483_648)).toBe('2 GiB');
  });

  it('never says "1024 KiB": a size that rounds up to the next unit is said in it', () => {
    expect(formatSize(1_048_535)).toBe('1 MiB');
    expect(formatSize(1_047_552)).toBe('1023 KiB');
  });

  it('stays in gibibytes past them', () => {
    expect(formatSize(3400 * 1024 ** 3)).toBe('3400 GiB');
  });
});
