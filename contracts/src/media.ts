/** Transfer characteristics that make a video HDR: PQ (HDR10, HDR10+, Dolby Vision) and HLG. */
export const HDR_TRANSFERS: ReadonlySet<string> = new Set(['smpte2084', 'arib-std-b67']);

/** Whether a stream's `colorTransfer` (as ffprobe names it) is an HDR transfer. */
export function isHdrTransfer(transfer: string | null | undefined): boolean {
  return transfer != null && HDR_TRANSFERS.has(transfer);
}
