// A first-in, first-out queue whose take is O(1) at any length: an array's shift moves every
// element once the array outgrows V8's regular heap pages (about 16,000 elements), and a write's
// read-ahead holds up to twice a chunk's records.

/** Items in the order they were put, taken from the front. */
export class Fifo<T> {
  #items: (T | undefined)[] = [];
  #head = 0;

  /** How many items wait. */
  get length(): number {
    return this.#items.length - this.#head;
  }

  /** Adds `item` at the back. */
  push(item: T): void {
    this.#items.push(item);
  }

  /** Takes the front item, or `undefined` when none waits. */
  shift(): T | undefined {
    if (this.#head === this.#items.length) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head++] = undefined;
    // The taken front is dropped once it is half the array: each item is moved at most once.
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }

  /** The first waiting item that satisfies `predicate`. */
  find(predicate: (item: T) => boolean): T | undefined {
    for (let i = this.#head; i < this.#items.length; i++) {
      if (predicate(this.#items[i] as T)) return this.#items[i];
    }
    return undefined;
  }
}
