;; Table-driven CRC-32 (IEEE 802.3, reflected polynomial 0xedb88320, the one
;; zlib uses) over a 256 KiB buffer of xorshift32 pseudo-random data.
;; The 256-entry table is built in wasm on every run.
;; Layout (bytes): table at 0 (1 KiB), buffer at 1024 .. 1024 + 262144.
;; run() = zext(crc32(buffer))
(module
  (memory 5)

  (func $build_table
    (local $n i32) (local $c i32) (local $k i32)
    (loop $entries
      (local.set $c (local.get $n))
      (local.set $k (i32.const 8))
      (loop $bits
        ;; c = (c & 1) ? 0xedb88320 ^ (c >> 1) : c >> 1
        (local.set $c
          (select
            (i32.xor (i32.const 0xedb88320) (i32.shr_u (local.get $c) (i32.const 1)))
            (i32.shr_u (local.get $c) (i32.const 1))
            (i32.and (local.get $c) (i32.const 1))))
        (br_if $bits (local.tee $k (i32.sub (local.get $k) (i32.const 1)))))
      (i32.store (i32.shl (local.get $n) (i32.const 2)) (local.get $c))
      (br_if $entries
        (i32.ne (local.tee $n (i32.add (local.get $n) (i32.const 1))) (i32.const 256)))))

  ;; Fill the buffer with xorshift32 words (little-endian), seed 0x12345678.
  (func $fill
    (local $p i32) (local $x i32)
    (local.set $p (i32.const 1024))
    (local.set $x (i32.const 0x12345678))
    (loop $words
      (local.set $x (i32.xor (local.get $x) (i32.shl (local.get $x) (i32.const 13))))
      (local.set $x (i32.xor (local.get $x) (i32.shr_u (local.get $x) (i32.const 17))))
      (local.set $x (i32.xor (local.get $x) (i32.shl (local.get $x) (i32.const 5))))
      (i32.store (local.get $p) (local.get $x))
      (br_if $words
        (i32.ne (local.tee $p (i32.add (local.get $p) (i32.const 4))) (i32.const 263168)))))

  (func $crc (param $p i32) (param $end i32) (result i32)
    (local $c i32)
    (local.set $c (i32.const -1))
    (loop $bytes
      ;; c = table[(c ^ byte) & 0xff] ^ (c >> 8)
      (local.set $c
        (i32.xor
          (i32.load
            (i32.shl
              (i32.and
                (i32.xor (local.get $c) (i32.load8_u (local.get $p)))
                (i32.const 0xff))
              (i32.const 2)))
          (i32.shr_u (local.get $c) (i32.const 8))))
      (br_if $bytes
        (i32.ne (local.tee $p (i32.add (local.get $p) (i32.const 1))) (local.get $end))))
    (i32.xor (local.get $c) (i32.const -1)))

  (func (export "run") (result i64)
    (call $build_table)
    (call $fill)
    (i64.extend_i32_u (call $crc (i32.const 1024) (i32.const 263168)))))
