;; SHA-256 (FIPS 180-4) of a 4 KiB message, chained 8 times: after each hash
;; the 32-byte digest overwrites the first 32 bytes of the message, so every
;; round depends on the previous one. Pure i32 rotations, adds, xors, ands,
;; plus big-endian loads done by hand (wasm has no byte swap).
;; Layout (bytes): K at 0 (64 words), initial H at 256 (8 words), state H at
;; 512, message schedule W at 1024 (64 words), message at 4096 (4096 bytes)
;; followed by its padding block at 8192 (64 bytes).
;; run() = (H0<<32|H1) ^ (H2<<32|H3) ^ (H4<<32|H5) ^ (H6<<32|H7) of the last digest
(module
  (memory 1)

  ;; Round constants: first 32 bits of the fractional parts of the cube roots
  ;; of the first 64 primes (little-endian words).
  (data (i32.const 0) "\98\2f\8a\42\91\44\37\71\cf\fb\c0\b5\a5\db\b5\e9\5b\c2\56\39\f1\11\f1\59\a4\82\3f\92\d5\5e\1c\ab\98\aa\07\d8\01\5b\83\12\be\85\31\24\c3\7d\0c\55\74\5d\be\72\fe\b1\de\80\a7\06\dc\9b\74\f1\9b\c1\c1\69\9b\e4\86\47\be\ef\c6\9d\c1\0f\cc\a1\0c\24\6f\2c\e9\2d\aa\84\74\4a\dc\a9\b0\5c\da\88\f9\76\52\51\3e\98\6d\c6\31\a8\c8\27\03\b0\c7\7f\59\bf\f3\0b\e0\c6\47\91\a7\d5\51\63\ca\06\67\29\29\14\85\0a\b7\27\38\21\1b\2e\fc\6d\2c\4d\13\0d\38\53\54\73\0a\65\bb\0a\6a\76\2e\c9\c2\81\85\2c\72\92\a1\e8\bf\a2\4b\66\1a\a8\70\8b\4b\c2\a3\51\6c\c7\19\e8\92\d1\24\06\99\d6\85\35\0e\f4\70\a0\6a\10\16\c1\a4\19\08\6c\37\1e\4c\77\48\27\b5\bc\b0\34\b3\0c\1c\39\4a\aa\d8\4e\4f\ca\9c\5b\f3\6f\2e\68\ee\82\8f\74\6f\63\a5\78\14\78\c8\84\08\02\c7\8c\fa\ff\be\90\eb\6c\50\a4\f7\a3\f9\be\f2\78\71\c6")
  ;; Initial hash value: same, square roots of the first 8 primes.
  (data (i32.const 256) "\67\e6\09\6a\85\ae\67\bb\72\f3\6e\3c\3a\f5\4f\a5\7f\52\0e\51\8c\68\05\9b\ab\d9\83\1f\19\cd\e0\5b")

  (func $bswap (param $x i32) (result i32)
    (i32.or
      (i32.or
        (i32.shl (local.get $x) (i32.const 24))
        (i32.shl (i32.and (local.get $x) (i32.const 0xff00)) (i32.const 8)))
      (i32.or
        (i32.and (i32.shr_u (local.get $x) (i32.const 8)) (i32.const 0xff00))
        (i32.shr_u (local.get $x) (i32.const 24)))))

  ;; Compress one 64-byte block at $p into the state at 512.
  (func $compress (param $p i32)
    (local $t i32) (local $w i32) (local $w15 i32) (local $w2 i32)
    (local $a i32) (local $b i32) (local $c i32) (local $d i32)
    (local $e i32) (local $f i32) (local $g i32) (local $h i32)
    (local $t1 i32) (local $t2 i32)
    ;; W[0..16] = big-endian words of the block
    (loop $load
      (i32.store offset=1024
        (local.get $t)
        (call $bswap (i32.load (i32.add (local.get $p) (local.get $t)))))
      (br_if $load
        (i32.ne (local.tee $t (i32.add (local.get $t) (i32.const 4))) (i32.const 64))))
    ;; W[16..64]; $t is the byte offset 4*t
    (loop $schedule
      (local.set $w15 (i32.load offset=1024 (i32.sub (local.get $t) (i32.const 60))))
      (local.set $w2 (i32.load offset=1024 (i32.sub (local.get $t) (i32.const 8))))
      (i32.store offset=1024
        (local.get $t)
        (i32.add
          (i32.add
            (i32.load offset=1024 (i32.sub (local.get $t) (i32.const 64)))
            (i32.xor
              (i32.xor (i32.rotr (local.get $w15) (i32.const 7))
                       (i32.rotr (local.get $w15) (i32.const 18)))
              (i32.shr_u (local.get $w15) (i32.const 3))))
          (i32.add
            (i32.load offset=1024 (i32.sub (local.get $t) (i32.const 28)))
            (i32.xor
              (i32.xor (i32.rotr (local.get $w2) (i32.const 17))
                       (i32.rotr (local.get $w2) (i32.const 19)))
              (i32.shr_u (local.get $w2) (i32.const 10))))))
      (br_if $schedule
        (i32.ne (local.tee $t (i32.add (local.get $t) (i32.const 4))) (i32.const 256))))
    (local.set $a (i32.load offset=512 (i32.const 0)))
    (local.set $b (i32.load offset=516 (i32.const 0)))
    (local.set $c (i32.load offset=520 (i32.const 0)))
    (local.set $d (i32.load offset=524 (i32.const 0)))
    (local.set $e (i32.load offset=528 (i32.const 0)))
    (local.set $f (i32.load offset=532 (i32.const 0)))
    (local.set $g (i32.load offset=536 (i32.const 0)))
    (local.set $h (i32.load offset=540 (i32.const 0)))
    (local.set $t (i32.const 0))
    (loop $rounds
      ;; t1 = h + S1(e) + Ch(e,f,g) + K[t] + W[t]
      (local.set $t1
        (i32.add
          (i32.add
            (i32.add
              (local.get $h)
              (i32.xor
                (i32.xor (i32.rotr (local.get $e) (i32.const 6))
                         (i32.rotr (local.get $e) (i32.const 11)))
                (i32.rotr (local.get $e) (i32.const 25))))
            (i32.xor
              (i32.and (local.get $e) (local.get $f))
              (i32.and (i32.xor (local.get $e) (i32.const -1)) (local.get $g))))
          (i32.add
            (i32.load (local.get $t))
            (i32.load offset=1024 (local.get $t)))))
      ;; t2 = S0(a) + Maj(a,b,c)
      (local.set $t2
        (i32.add
          (i32.xor
            (i32.xor (i32.rotr (local.get $a) (i32.const 2))
                     (i32.rotr (local.get $a) (i32.const 13)))
            (i32.rotr (local.get $a) (i32.const 22)))
          (i32.xor
            (i32.xor (i32.and (local.get $a) (local.get $b))
                     (i32.and (local.get $a) (local.get $c)))
            (i32.and (local.get $b) (local.get $c)))))
      (local.set $h (local.get $g))
      (local.set $g (local.get $f))
      (local.set $f (local.get $e))
      (local.set $e (i32.add (local.get $d) (local.get $t1)))
      (local.set $d (local.get $c))
      (local.set $c (local.get $b))
      (local.set $b (local.get $a))
      (local.set $a (i32.add (local.get $t1) (local.get $t2)))
      (br_if $rounds
        (i32.ne (local.tee $t (i32.add (local.get $t) (i32.const 4))) (i32.const 256))))
    (i32.store offset=512 (i32.const 0) (i32.add (i32.load offset=512 (i32.const 0)) (local.get $a)))
    (i32.store offset=516 (i32.const 0) (i32.add (i32.load offset=516 (i32.const 0)) (local.get $b)))
    (i32.store offset=520 (i32.const 0) (i32.add (i32.load offset=520 (i32.const 0)) (local.get $c)))
    (i32.store offset=524 (i32.const 0) (i32.add (i32.load offset=524 (i32.const 0)) (local.get $d)))
    (i32.store offset=528 (i32.const 0) (i32.add (i32.load offset=528 (i32.const 0)) (local.get $e)))
    (i32.store offset=532 (i32.const 0) (i32.add (i32.load offset=532 (i32.const 0)) (local.get $f)))
    (i32.store offset=536 (i32.const 0) (i32.add (i32.load offset=536 (i32.const 0)) (local.get $g)))
    (i32.store offset=540 (i32.const 0) (i32.add (i32.load offset=540 (i32.const 0)) (local.get $h))))

  ;; Hash the 4096-byte message at 4096 (its padding block is already at 8192).
  (func $sha256
    (local $i i32) (local $p i32)
    (loop $init
      (i32.store offset=512 (local.get $i) (i32.load offset=256 (local.get $i)))
      (br_if $init
        (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 4))) (i32.const 32))))
    (local.set $p (i32.const 4096))
    (loop $blocks
      (call $compress (local.get $p))
      (br_if $blocks
        (i32.ne (local.tee $p (i32.add (local.get $p) (i32.const 64))) (i32.const 8256)))))

  (func (export "run") (result i64)
    (local $i i32) (local $x i32) (local $round i32)
    ;; Message: xorshift32 words, seed 0x9e3779b9.
    (local.set $x (i32.const 0x9e3779b9))
    (loop $fill
      (local.set $x (i32.xor (local.get $x) (i32.shl (local.get $x) (i32.const 13))))
      (local.set $x (i32.xor (local.get $x) (i32.shr_u (local.get $x) (i32.const 17))))
      (local.set $x (i32.xor (local.get $x) (i32.shl (local.get $x) (i32.const 5))))
      (i32.store offset=4096 (local.get $i) (local.get $x))
      (br_if $fill
        (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 4))) (i32.const 4096))))
    ;; Padding block: 0x80, zeros, then the bit length 32768 as a big-endian u64.
    (local.set $i (i32.const 0))
    (loop $zero
      (i32.store offset=8192 (local.get $i) (i32.const 0))
      (br_if $zero
        (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 4))) (i32.const 64))))
    (i32.store8 offset=8192 (i32.const 0) (i32.const 0x80))
    (i32.store8 offset=8254 (i32.const 0) (i32.const 0x80))
    ;; 8 chained rounds; the digest (big-endian) replaces the message's first 32 bytes.
    (loop $chain
      (call $sha256)
      (local.set $i (i32.const 0))
      (loop $out
        (i32.store offset=4096
          (local.get $i)
          (call $bswap (i32.load offset=512 (local.get $i))))
        (br_if $out
          (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 4))) (i32.const 32))))
      (br_if $chain
        (i32.ne (local.tee $round (i32.add (local.get $round) (i32.const 1))) (i32.const 8))))
    (i64.xor
      (i64.xor
        (i64.or (i64.shl (i64.load32_u offset=512 (i32.const 0)) (i64.const 32))
                (i64.load32_u offset=516 (i32.const 0)))
        (i64.or (i64.shl (i64.load32_u offset=520 (i32.const 0)) (i64.const 32))
                (i64.load32_u offset=524 (i32.const 0))))
      (i64.xor
        (i64.or (i64.shl (i64.load32_u offset=528 (i32.const 0)) (i64.const 32))
                (i64.load32_u offset=532 (i32.const 0)))
        (i64.or (i64.shl (i64.load32_u offset=536 (i32.const 0)) (i64.const 32))
                (i64.load32_u offset=540 (i32.const 0)))))))
