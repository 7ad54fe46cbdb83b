/**
 * How a number of bytes is written for people, by the chat page and by the offline stand-in's
 * replies alike. Binary units, as the server's limits are meant and as the README states them
 * (MAX_UPLOAD_BYTES 20 MiB, STORAGE_QUOTA_BASIC_BYTES 100 MiB): a limit of 100 MiB reads "100 MiB",
 * never "105 MB". Pure and importing nothing (src/shared: see citation-marks.ts).
 */

const UNIT = 1024;
const UNITS = ['B', 'KiB', 'MiB', 'GiB'];

/** One decimal below 10 (1.2 KiB), none from there on (340 KiB). */
const rounded = (value: number) => (value < 10 ? Math.round(value * 10) / 10 : Math.round(value));

/** "340 B", "1.2 KiB", "20 MiB". */
export function formatSize(bytes: number): string {
  let exponent = 0;
  // Compared once rounded: 1,048,535 bytes is "1 MiB", not "1024 KiB".
  while (exponent < UNITS.length - 1 && rounded(bytes / UNIT ** exponent) >= UNIT) exponent += 1;
  return `${rounded(bytes / UNIT ** exponent)} ${UNITS[exponent] ?? 'B'}`;
}
