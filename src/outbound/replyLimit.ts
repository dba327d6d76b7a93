import axios from 'axios';

/**
 * The most this service reads of any answer from outside (LWA, SP-API, oxWebApp's webhook): a token response is a few
 * KiB and a marketplaceParticipations answer a few tens, so 256 KiB is room enough and bounds what one answer costs.
 */
export const MAX_REPLY_BYTES = 256 * 1024;

/**
 * The axios options every outgoing client sets. axios counts the body as it arrives (after decompression, so a
 * compressed bomb counts at its real size) and, past maxContentLength, destroys the socket and rejects: a chunked
 * answer without Content-Length, or one announcing 1.5 GiB, is cut there, never buffered whole. maxBodyLength bounds
 * what we send the same way.
 */
export const BOUNDED_REPLY = { maxContentLength: MAX_REPLY_BYTES, maxBodyLength: MAX_REPLY_BYTES } as const;

/** True when axios gave up on an answer for being larger than maxContentLength (its own error, no response). */
export function isReplyTooLarge(error: unknown): boolean {
  return axios.isAxiosError(error) && error.code === axios.AxiosError.ERR_BAD_RESPONSE && /maxContentLength/.test(error.message);
}

/** How a refused answer is named in results and log lines (never its body). */
export const REPLY_TOO_LARGE = `answer larger than ${MAX_REPLY_BYTES / 1024} KiB, not read further`;
