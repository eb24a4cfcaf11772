/**
 * The last `capacity` bytes written to it, kept as the chunks that arrived (no copies on the
 * hot path); decoded to text only when someone asks.
 * @internal
 */
export class ByteRing {
  private chunks: Array<Uint8Array> = []
  private size = 0

  constructor(readonly capacity: number) {}

  push(chunk: Uint8Array): void {
    if (this.capacity === 0 || chunk.length === 0) return
    if (chunk.length >= this.capacity) {
      this.chunks = [chunk.subarray(chunk.length - this.capacity)]
      this.size = this.capacity
      return
    }
    this.chunks.push(chunk)
    this.size += chunk.length
    while (this.size - (this.chunks[0]?.length ?? 0) >= this.capacity) {
      this.size -= this.chunks.shift()?.length ?? 0
    }
  }

  /** The kept bytes as text; a character cut at the front is dropped rather than shown as U+FFFD. */
  text(): string {
    if (this.size === 0) return ""
    const all = Buffer.concat(this.chunks, this.size)
    const bytes = all.length > this.capacity ? all.subarray(all.length - this.capacity) : all
    let start = 0
    // skip UTF-8 continuation bytes left over from a character cut at the front
    while (start < bytes.length && start < 3 && ((bytes[start] ?? 0) & 0xc0) === 0x80) start++
    return bytes.subarray(start).toString("utf8")
  }
}
