;; Bulk memory: memory.fill / memory.copy (including overlapping copies in both
;; directions) over 256 KiB regions, plus a byte-at-a-time copy loop, 8 rounds.
;; Layout (bytes): src at 0, dst at 262144, out at 524288 (32 KiB).
;; Each round r:
;;   fill src with byte (37r + 11); stamp one word per 64 bytes: src[i] = i ^ (r << 24)
;;   copy dst <- src (256 KiB); copy dst+1 <- dst (overlapping, forward);
;;   copy dst+5 <- dst+12 (overlapping, backward); fill dst+1000+3r with 0xa5 (777 bytes)
;;   byte loop: out[i] = dst[8r + i] ^ (i + r) for i in 0..32768
;;   h = (rotl(h, 5) ^ word) * 0x100000001b3 over every 8-byte word of out,
;;   then over every 4096th word of dst
;; run() = h
(module
  (memory 9)

  (func $mix (param $h i64) (param $v i64) (result i64)
    (i64.mul
      (i64.xor (i64.rotl (local.get $h) (i64.const 5)) (local.get $v))
      (i64.const 0x100000001b3)))

  (func (export "run") (result i64)
    (local $r i32) (local $i i32) (local $h i64)
    (loop $rounds
      (memory.fill
        (i32.const 0)
        (i32.add (i32.mul (local.get $r) (i32.const 37)) (i32.const 11))
        (i32.const 262144))
      (local.set $i (i32.const 0))
      (loop $stamp
        (i32.store
          (local.get $i)
          (i32.xor (local.get $i) (i32.shl (local.get $r) (i32.const 24))))
        (br_if $stamp
          (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 64))) (i32.const 262144))))
      (memory.copy (i32.const 262144) (i32.const 0) (i32.const 262144))
      (memory.copy (i32.const 262145) (i32.const 262144) (i32.const 258048))
      (memory.copy (i32.const 262149) (i32.const 262156) (i32.const 258048))
      (memory.fill
        (i32.add (i32.const 263144) (i32.mul (local.get $r) (i32.const 3)))
        (i32.const 0xa5)
        (i32.const 777))
      ;; byte loop
      (local.set $i (i32.const 0))
      (loop $bytes
        (i32.store8 offset=524288
          (local.get $i)
          (i32.xor
            (i32.load8_u offset=262144
              (i32.add (local.get $i) (i32.shl (local.get $r) (i32.const 3))))
            (i32.add (local.get $i) (local.get $r))))
        (br_if $bytes
          (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 32768))))
      ;; checksum out, then sample dst
      (local.set $i (i32.const 0))
      (loop $sum_out
        (local.set $h
          (call $mix (local.get $h) (i64.load offset=524288 (local.get $i))))
        (br_if $sum_out
          (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 8))) (i32.const 32768))))
      (local.set $i (i32.const 0))
      (loop $sum_dst
        (local.set $h
          (call $mix (local.get $h) (i64.load offset=262144 (local.get $i))))
        (br_if $sum_dst
          (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 4096))) (i32.const 262144))))
      (br_if $rounds
        (i32.ne (local.tee $r (i32.add (local.get $r) (i32.const 1))) (i32.const 8))))
    (local.get $h)))
