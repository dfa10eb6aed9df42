import assert from "node:assert/strict";
import { SpaceWatermark } from "./_watermark.ts";

Deno.test("SpaceWatermark holds readers below every in-flight chunk of the space only", () => {
  const watermark = new SpaceWatermark();
  const first = watermark.tryStamp("orders", 1_000)!;
  const second = watermark.tryStamp("orders", 1_002)!;
  assert.equal(watermark.boundOf("orders", 2_000), 999);
  assert.equal(watermark.boundOf("billing", 2_000), 2_000);
  watermark.release("orders", first);
  assert.equal(watermark.boundOf("orders", 2_000), 1_001);
  watermark.release("orders", second);
  assert.equal(watermark.boundOf("orders", 2_000), 2_000);
});

Deno.test("SpaceWatermark refuses stamps at or below what a reader may have passed", () => {
  const watermark = new SpaceWatermark();
  assert.equal(watermark.boundOf("orders", 5_000), 5_000);
  assert.equal(watermark.tryStamp("orders", 5_000), 5_000, "no reader has read through 5000 yet");
  watermark.release("orders", 5_000);
  watermark.observe("orders", watermark.boundOf("orders", 5_000));
  assert.equal(watermark.tryStamp("orders", 5_000), undefined, "5000 could land behind a reader");
  assert.equal(watermark.tryStamp("billing", 5_000), 5_000, "other spaces are not held back");
  assert.equal(watermark.tryStamp("orders", 5_001), 5_001);
  watermark.observe("orders", 6_000);
  assert.equal(watermark.tryStamp("orders", 6_000), undefined, "an observed entry counts too");
  assert.equal(watermark.tryStamp("orders", 6_001), 6_001);
});

Deno.test("SpaceWatermark counts chunks sharing one timestamp", () => {
  const watermark = new SpaceWatermark();
  const a = watermark.tryStamp("s", 10)!;
  const b = watermark.tryStamp("s", 10)!;
  watermark.release("s", a);
  assert.equal(watermark.boundOf("s", 100), 9);
  watermark.release("s", b);
  assert.equal(watermark.boundOf("s", 100), 100);
});
