/**
 * The last `capacity` bytes written to it, in one circular byte buffer that grows up to
 * `capacity` as bytes come; decoded to text only when someone asks.
 *
 * Bytes are copied in (at most `capacity` per chunk) rather than the chunks kept: a tool that
 * answers in many small writes would otherwise have its ring hold hundreds of small Buffers
 * (about 100 bytes of heap each, more than the bytes they carry), and dropping the oldest chunk
 * from the front of an array costs more than the copy.
 * @internal
 */
export class ByteRing {
  private buffer: Uint8Array = new Uint8Array(0)
  /** Where the oldest byte is. */
  private start = 0
  private size = 0

  constructor(readonly capacity: number) {}

  push(chunk: Uint8Array): void {
    if (this.capacity === 0 || chunk.length === 0) return
    if (chunk.length >= this.capacity) {
      this.grow(this.capacity)
      this.buffer.set(chunk.subarray(chunk.length - this.capacity))
      this.start = 0
      this.size = this.capacity
      return
    }
    if (this.size + chunk.length > this.buffer.length) this.grow(this.size + chunk.length)
    const length = this.buffer.length
    // Where the new bytes go, after the newest; past the end they wrap to the front.
    const end = (this.start + this.size) % length
    if (end + chunk.length <= length) {
      this.buffer.set(chunk, end)
    } else {
      const first = length - end
      this.buffer.set(chunk.subarray(0, first), end)
      this.buffer.set(chunk.subarray(first), 0)
    }
    const overflow = this.size + chunk.length - length
    if (overflow > 0) {
      // the oldest bytes were overwritten
      this.start = (this.start + overflow) % length
      this.size = length
    } else {
      this.size += chunk.length
    }
  }

  /** Makes room for `wanted` bytes (doubling, up to `capacity`), the kept bytes moved to the front. */
  private grow(wanted: number): void {
    if (this.buffer.length >= this.capacity) return
    const length = Math.min(this.capacity, Math.max(wanted, 2 * this.buffer.length, 256))
    const grown = new Uint8Array(length)
    grown.set(this.bytes())
    this.buffer = grown
    this.start = 0
  }

  /** The kept bytes, oldest first. */
  private bytes(): Uint8Array {
    const end = this.start + this.size
    if (end <= this.buffer.length) return this.buffer.subarray(this.start, end)
    const out = new Uint8Array(this.size)
    out.set(this.buffer.subarray(this.start))
    out.set(this.buffer.subarray(0, end - this.buffer.length), this.buffer.length - this.start)
    return out
  }

  /** The kept bytes as text; a character cut at the front is dropped rather than shown as U+FFFD. */
  text(): string {
    if (this.size === 0) return ""
    const bytes = this.bytes()
    let start = 0
    // skip UTF-8 continuation bytes left over from a character cut at the front
    while (start < bytes.length && start < 3 && ((bytes[start] ?? 0) & 0xc0) === 0x80) start++
    return Buffer.from(bytes.buffer, bytes.byteOffset + start, bytes.length - start).toString("utf8")
  }
}
