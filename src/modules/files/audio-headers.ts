import { accepted, refused, type FileFacts, type Recognition } from './file-facts.js';

/*
 * Audio formats from their headers: which one, and how long it plays where the header says so
 * (Gemini charges audio by the second). All offsets are checked against what was kept of the file.
 */

const fits = (bytes: Buffer, offset: number, length: number): boolean => offset >= 0 && offset + length <= bytes.length;
const ascii = (bytes: Buffer, offset: number, length: number): string =>
  fits(bytes, offset, length) ? bytes.toString('latin1', offset, offset + length) : '';
const seconds = (value: number): FileFacts =>
  Number.isFinite(value) && value > 0 ? { durationSeconds: Math.round(value * 1000) / 1000 } : {};

/** RIFF/WAVE: the data chunk's length over the format chunk's bytes per second. */
export function wavFacts(head: Buffer, sizeBytes: number): FileFacts {
  let byteRate = 0;
  for (let offset = 12; fits(head, offset, 8); ) {
    const id = ascii(head, offset, 4);
    const size = head.readUInt32LE(offset + 4);
    const body = offset + 8;
    if (id === 'fmt ' && fits(head, body, 12)) byteRate = head.readUInt32LE(body + 8);
    if (id === 'data') {
      // A WAV written while recording may declare 0 or 0xFFFFFFFF: what is there is what plays.
      const dataBytes = size === 0 ? sizeBytes - body : Math.min(size, sizeBytes - body);
      return byteRate > 0 ? seconds(dataBytes / byteRate) : {};
    }
    offset = body + size + (size % 2);
  }
  return {};
}

/** FLAC's STREAMINFO block (always first, right after the 4-byte marker at `at`): samples over sample rate. */
export function flacFacts(bytes: Buffer, at: number): FileFacts {
  const info = at + 8;
  if (!fits(bytes, info, 18) || ((bytes[at + 4] as number) & 0x7f) !== 0) return {};
  const sampleRate = ((bytes[info + 10] as number) << 12) | ((bytes[info + 11] as number) << 4) | ((bytes[info + 12] as number) >> 4);
  const totalSamples = ((bytes[info + 13] as number) & 0x0f) * 2 ** 32 + bytes.readUInt32BE(info + 14);
  return sampleRate > 0 && totalSamples > 0 ? seconds(totalSamples / sampleRate) : {};
}

// AIFF stores its sample rate as an 80-bit IEEE 754 extended float.
function extendedFloat(bytes: Buffer, offset: number): number {
  const exponent = (((bytes[offset] as number) & 0x7f) << 8) | (bytes[offset + 1] as number);
  const mantissa = bytes.readUInt32BE(offset + 2) * 2 ** 32 + bytes.readUInt32BE(offset + 6);
  return mantissa * 2 ** (exponent - 16383 - 63);
}

/** AIFF/AIFC: the COMM chunk's sample frames over its sample rate. */
export function aiffFacts(head: Buffer): FileFacts {
  for (let offset = 12; fits(head, offset, 8); ) {
    const size = head.readUInt32BE(offset + 4);
    const body = offset + 8;
    if (ascii(head, offset, 4) === 'COMM') {
      if (!fits(head, body, 18)) return {};
      return seconds(head.readUInt32BE(body + 2) / extendedFloat(head, body + 8));
    }
    offset = body + size + (size % 2);
  }
  return {};
}

const OGG_SAMPLE_RATE_OPUS = 48_000; // Opus granule positions always count 48 kHz samples

/** The granule position (samples so far) of the last page of stream `serial` that ends a packet. */
function lastGranule(tail: Buffer, serial: number): number | undefined {
  for (let at = tail.lastIndexOf('OggS'); at >= 0; at = at === 0 ? -1 : tail.lastIndexOf('OggS', at - 1)) {
    if (!fits(tail, at, 27) || tail[at + 4] !== 0 || tail.readUInt32LE(at + 14) !== serial) continue;
    const granule = tail.readBigInt64LE(at + 6);
    if (granule >= 0n) return Number(granule); // -1: no packet ends on that page
  }
  return undefined;
}

/** Ogg: the codec from the first packet (Theora is video), the duration from the last page's granule position. */
export function oggRecognition(head: Buffer, tail: Buffer): Recognition {
  if (!fits(head, 0, 27)) return accepted('audio/ogg', 'audio');
  const packet = 27 + (head[26] as number);
  const serial = head.readUInt32LE(14);
  const codec = ascii(head, packet, 8);
  let sampleRate = 0;
  let preSkip = 0;
  if (codec.startsWith('\x80theora')) return refused('video/ogg');
  if (codec.startsWith('\x01vorbis') && fits(head, packet + 12, 4)) sampleRate = head.readUInt32LE(packet + 12);
  else if (codec === 'OpusHead' && fits(head, packet + 10, 2)) {
    sampleRate = OGG_SAMPLE_RATE_OPUS;
    preSkip = head.readUInt16LE(packet + 10);
  } else if (codec === 'Speex   ' && fits(head, packet + 36, 4)) sampleRate = head.readUInt32LE(packet + 36);
  else if (codec.startsWith('\x7fFLAC')) return accepted('audio/ogg', 'audio', flacFacts(head, packet + 9));
  const granule = lastGranule(tail, serial);
  return accepted('audio/ogg', 'audio', sampleRate > 0 && granule !== undefined ? seconds((granule - preSkip) / sampleRate) : {});
}

/** Where the audio after an ID3v2 tag starts, or null when `head` does not start with one. */
export function id3TagEnd(head: Buffer): number | null {
  if (ascii(head, 0, 3) !== 'ID3' || !fits(head, 0, 10)) return null;
  const version = head[3] as number;
  const size = [...head.subarray(6, 10)];
  if (version < 2 || version > 4 || size.some((byte) => byte >= 0x80)) return null;
  const footer = ((head[5] as number) & 0x10) !== 0 ? 10 : 0;
  return 10 + size.reduce((total, byte) => total * 128 + byte, 0) + footer; // "syncsafe": 7 bits a byte
}

interface AudioFrame {
  bytes: number;
  samples: number;
  sampleRate: number;
}

const MPEG1_LAYER3_KBPS = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320];
const MPEG2_LAYER3_KBPS = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160];
// Indexed by the header's version bits: 0 = MPEG 2.5, 2 = MPEG 2, 3 = MPEG 1 (1 is reserved).
const MPEG_SAMPLE_RATES: Record<number, number[]> = { 0: [11025, 12000, 8000], 2: [22050, 24000, 16000], 3: [44100, 48000, 32000] };
const ADTS_SAMPLE_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];

// An MPEG audio frame header: 11 sync bits, then version, layer, bitrate and sample rate indexes.
// The layer bits tell MP3 (layer III = 01) from AAC in ADTS framing, whose "layer" is always 00.
function mpegHeader(bytes: Buffer, offset: number): { version: number; layer: number; bitrateIndex: number; rateIndex: number; padding: number } | null {
  if (!fits(bytes, offset, 4) || bytes[offset] !== 0xff) return null;
  const second = bytes[offset + 1] as number;
  const third = bytes[offset + 2] as number;
  if ((second & 0xe0) !== 0xe0) return null;
  const version = (second >> 3) & 3;
  const layer = (second >> 1) & 3;
  const bitrateIndex = third >> 4;
  const rateIndex = (third >> 2) & 3;
  if (version === 1 || layer === 0 || bitrateIndex === 0 || bitrateIndex === 15 || rateIndex === 3) return null;
  return { version, layer, bitrateIndex, rateIndex, padding: (third >> 1) & 1 };
}

function mp3FrameAt(bytes: Buffer, offset: number): AudioFrame | null {
  const header = mpegHeader(bytes, offset);
  if (header?.layer !== 1) return null;
  const mpeg1 = header.version === 3;
  const kbps = (mpeg1 ? MPEG1_LAYER3_KBPS : MPEG2_LAYER3_KBPS)[header.bitrateIndex] as number;
  const sampleRate = MPEG_SAMPLE_RATES[header.version]?.[header.rateIndex] as number;
  const samples = mpeg1 ? 1152 : 576;
  return { bytes: Math.floor(((samples / 8) * kbps * 1000) / sampleRate) + header.padding, samples, sampleRate };
}

function adtsFrameAt(bytes: Buffer, offset: number): AudioFrame | null {
  if (!fits(bytes, offset, 7) || bytes[offset] !== 0xff || ((bytes[offset + 1] as number) & 0xf6) !== 0xf0) return null;
  const sampleRate = ADTS_SAMPLE_RATES[((bytes[offset + 2] as number) >> 2) & 0x0f];
  const frameBytes = (((bytes[offset + 3] as number) & 3) << 11) | ((bytes[offset + 4] as number) << 3) | ((bytes[offset + 5] as number) >> 5);
  if (sampleRate === undefined || frameBytes < 7) return null;
  return { bytes: frameBytes, samples: 1024 * (((bytes[offset + 6] as number) & 3) + 1), sampleRate };
}

type FrameReader = (bytes: Buffer, offset: number) => AudioFrame | null;

/*
 * The frames in `bytes` (which starts with the first one) are walked; the stream's duration is their
 * playing time scaled by `streamBytes` over the bytes walked. Exact when the whole stream was walked,
 * an estimate (constant bitrate assumed) for the rest of a longer one.
 */
function framedFacts(bytes: Buffer, streamBytes: number, frameAt: FrameReader): FileFacts {
  let offset = 0;
  let playing = 0;
  for (let frame = frameAt(bytes, 0); frame && offset + frame.bytes <= bytes.length; frame = frameAt(bytes, offset)) {
    playing += frame.samples / frame.sampleRate;
    offset += frame.bytes;
  }
  return offset > 0 ? seconds(playing * (streamBytes / offset)) : {};
}

// One valid header could be chance: where the next frame should start (if it was kept), there must be one.
function nextFrameAgrees(bytes: Buffer, streamBytes: number, frame: AudioFrame, frameAt: FrameReader): boolean {
  if (frame.bytes >= streamBytes || !fits(bytes, frame.bytes, 7)) return true;
  return frameAt(bytes, frame.bytes) !== null;
}

/** MP3 or ADTS AAC starting at the first byte of `bytes`, a stream of `streamBytes`; null when neither. */
export function framedAudioRecognition(bytes: Buffer, streamBytes: number): Recognition | null {
  const mp3 = mp3FrameAt(bytes, 0);
  if (mp3 && nextFrameAgrees(bytes, streamBytes, mp3, mp3FrameAt)) {
    return accepted('audio/mpeg', 'audio', framedFacts(bytes, streamBytes, mp3FrameAt));
  }
  const aac = adtsFrameAt(bytes, 0);
  if (aac && nextFrameAgrees(bytes, streamBytes, aac, adtsFrameAt)) {
    return accepted('audio/aac', 'audio', framedFacts(bytes, streamBytes, adtsFrameAt));
  }
  const header = mpegHeader(bytes, 0);
  if (header && header.layer !== 1) return refused('MPEG audio of layer I or II (not MP3)');
  return null;
}
