// A growable column of numbers backed by a Float64Array: appending a training episode
// costs no allocation except when the capacity doubles, and the charts read the live
// prefix (view()) without copying.
export class Column {
  private buf: Float64Array;
  length = 0;

  constructor(capacity = 1024) {
    this.buf = new Float64Array(Math.max(16, capacity));
  }

  push(v: number): void {
    if (this.length === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.length++] = v;
  }

  /** Overwrites the last value (an episode sent twice replaces its record). */
  setLast(v: number): void {
    if (this.length > 0) this.buf[this.length - 1] = v;
  }

  last(): number {
    return this.length > 0 ? this.buf[this.length - 1] : NaN;
  }

  clear(): void {
    this.length = 0;
  }

  /** The live values; valid until the next push. */
  view(): Float64Array {
    return this.buf.subarray(0, this.length);
  }
}
