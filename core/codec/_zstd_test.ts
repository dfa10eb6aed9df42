import assert from "node:assert/strict";
import { decompress as referenceDecompress } from "zstd-napi";
import { StreamkitError } from "../errors.ts";
import { ZstdContext } from "./_zstd.ts";
import { frameOf, headerOnlyFrame, withContentSize } from "./_test_frames.ts";
import { withSeededRandom } from "../_test_random.ts";

const MiB = 1024 * 1024;
const zstd = new ZstdContext();

function isKind(kind: string) {
  return (error: unknown) => error instanceof StreamkitError && error.kind === kind;
}

function samples(): Uint8Array[] {
  return withSeededRandom((random) => {
    const repetitive = new Uint8Array(300 * 1024).map((_, i) => i % 251);
    return [
      new Uint8Array(0),
      new Uint8Array([42]),
      random.bytes(1000),
      new Uint8Array(200 * 1024),
      repetitive,
      random.bytes(70 * 1024),
    ];
  });
}

function assertPlain(bytes: Uint8Array): void {
  assert.equal(Object.getPrototypeOf(bytes), Uint8Array.prototype);
}

// Decompressed bytes back decoded payloads that callers keep: they must own their buffer.
function assertFresh(bytes: Uint8Array): void {
  assertPlain(bytes);
  assert.equal(bytes.byteOffset, 0);
  assert.equal(bytes.buffer.byteLength, bytes.length);
}

Deno.test("zstd: round trips of every kind of frame, as fresh plain Uint8Arrays", () => {
  for (const sample of samples()) {
    const frame = zstd.compress(sample);
    assertPlain(frame);
    assert.deepEqual(new Uint8Array(referenceDecompress(frame)), sample, "a standard frame");
    const restored = zstd.decompress(frame, sample.length);
    assertFresh(restored);
    assert.deepEqual(restored, sample);
    for (const contentSize of [true, false]) {
      for (const checksum of [true, false]) {
        const other = frameOf(sample, { contentSize, checksum });
        assert.deepEqual(
          zstd.decompress(other, sample.length),
          sample,
          `${contentSize}/${checksum}`,
        );
      }
    }
  }
});

Deno.test("zstd: the shared contexts stay usable after errors and across many calls", () => {
  const frame = zstd.compress(new TextEncoder().encode("hello ".repeat(100)));
  const streamed = frameOf(new Uint8Array(300 * 1024).fill(7), {
    contentSize: false,
    checksum: true,
  });
  for (let i = 0; i < 2000; i++) {
    assert.throws(
      () => zstd.decompress(frame.subarray(0, frame.length - 3), MiB),
      isKind("CorruptData"),
    );
    // A streamed frame stopped midway by the bound must not leak state into the next call.
    assert.throws(() => zstd.decompress(streamed, 200 * 1024), isKind("CorruptData"));
    assert.equal(zstd.decompress(frame, MiB).length, 600);
  }
  assert.equal(zstd.decompress(streamed, MiB).length, 300 * 1024);
});

Deno.test("zstd: a declared content size above the bound fails before allocating", () => {
  // Claims 1 TiB in a 16-byte frame: must fail at the header, not try to allocate.
  assert.throws(() => zstd.decompress(headerOnlyFrame(2n ** 40n), 64 * MiB), isKind("CorruptData"));
  assert.throws(
    () => zstd.decompress(headerOnlyFrame(2n ** 64n - 1n), 64 * MiB),
    isKind("CorruptData"),
  );
  const frame = zstd.compress(new Uint8Array(1000));
  assert.throws(() => zstd.decompress(frame, 999), isKind("CorruptData"));
  assert.equal(zstd.decompress(frame, 1000).length, 1000);
});

Deno.test("zstd: a declared size that differs from the content is CorruptData", () => {
  const frame = zstd.compress(new Uint8Array(1000).fill(1));
  for (const size of [0n, 1n, 999n, 1001n, 4096n]) {
    assert.throws(() => zstd.decompress(withContentSize(frame, size), MiB), isKind("CorruptData"));
  }
  assert.equal(zstd.decompress(withContentSize(frame, 1000n), MiB).length, 1000);
});

Deno.test("zstd: a frame without a declared size is bounded while it streams", () => {
  const frame = frameOf(new Uint8Array(4 * MiB), { contentSize: false, checksum: false });
  assert.ok(frame.length < 1024, "tiny input, large output");
  assert.throws(() => zstd.decompress(frame, MiB), isKind("CorruptData"));
  assert.equal(zstd.decompress(frame, 4 * MiB).length, 4 * MiB);
  // A window no decoder should allocate (2^41 bytes): refused by zstd's window limit.
  const hugeWindow = new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0xf8, 0x01, 0x00, 0x00]);
  assert.throws(() => zstd.decompress(hugeWindow, MiB), isKind("CorruptData"));
});

Deno.test("zstd: anything but exactly one complete frame is CorruptData", () => {
  const frame = zstd.compress(new TextEncoder().encode("payload ".repeat(20)));
  const flipped = frame.slice();
  flipped[frame.length - 6] ^= 0x10;
  const skippable = new Uint8Array([0x50, 0x2a, 0x4d, 0x18, 0x01, 0x00, 0x00, 0x00, 0x00]);
  const cases: [string, Uint8Array][] = [
    ["empty", new Uint8Array(0)],
    ["magic only", frame.subarray(0, 4)],
    ["bad magic", new Uint8Array([0x28, 0xb5, 0x2f, 0xfe, ...frame.subarray(4)])],
    ["skippable frame", skippable],
    ["skippable frame then a frame", new Uint8Array([...skippable, ...frame])],
    ["truncated by one", frame.subarray(0, frame.length - 1)],
    ["trailing zero", new Uint8Array([...frame, 0])],
    ["two frames", new Uint8Array([...frame, ...frame])],
    ["checksum mismatch", flipped],
  ];
  for (const [name, input] of cases) {
    assert.throws(() => zstd.decompress(input, MiB), isKind("CorruptData"), name);
  }
  assert.throws(
    () => zstd.decompress("frame" as unknown as Uint8Array, MiB),
    isKind("CorruptData"),
  );
});

Deno.test("zstd: misuse is InvalidArgument", () => {
  const frame = zstd.compress(new Uint8Array(10));
  assert.throws(() => zstd.decompress(frame, -1), isKind("InvalidArgument"));
  assert.throws(() => zstd.decompress(frame, 1.5), isKind("InvalidArgument"));
  assert.throws(() => zstd.compress([1, 2, 3] as unknown as Uint8Array), isKind("InvalidArgument"));
});
