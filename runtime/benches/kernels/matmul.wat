;; Dense f64 matrix multiply, C = A x B, 64x64, row-major.
;; Layout (bytes): A at 0, B at 32768, C at 65536 (each 64*64*8 = 32 KiB).
;; All inputs are small multiples of 1/4 or 1/2, so every product and sum is
;; exact in f64: the result does not depend on evaluation order, and the
;; checksum is an exact integer.
;; run() = trunc(8 * sum_{i,j} C[i][j] * ((i*64+j) % 7 + 1))
(module
  (memory 2)

  (func $init
    (local $i i32) (local $j i32) (local $p i32)
    (loop $rows
      (local.set $j (i32.const 0))
      (loop $cols
        ;; p = (i*64 + j) * 8
        (local.set $p
          (i32.shl
            (i32.add (i32.shl (local.get $i) (i32.const 6)) (local.get $j))
            (i32.const 3)))
        ;; A[i][j] = (((7i + 3j) % 17) - 8) * 0.25
        (f64.store (local.get $p)
          (f64.mul
            (f64.convert_i32_s
              (i32.sub
                (i32.rem_u
                  (i32.add (i32.mul (local.get $i) (i32.const 7))
                           (i32.mul (local.get $j) (i32.const 3)))
                  (i32.const 17))
                (i32.const 8)))
            (f64.const 0.25)))
        ;; B[i][j] = (((5i + 11j) % 13) - 6) * 0.5
        (f64.store offset=32768 (local.get $p)
          (f64.mul
            (f64.convert_i32_s
              (i32.sub
                (i32.rem_u
                  (i32.add (i32.mul (local.get $i) (i32.const 5))
                           (i32.mul (local.get $j) (i32.const 11)))
                  (i32.const 13))
                (i32.const 6)))
            (f64.const 0.5)))
        (br_if $cols
          (i32.ne (local.tee $j (i32.add (local.get $j) (i32.const 1))) (i32.const 64))))
      (br_if $rows
        (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 64)))))

  (func $matmul
    (local $i i32) (local $j i32) (local $pa i32) (local $pb i32) (local $end i32)
    (local $sum f64)
    (loop $rows
      (local.set $j (i32.const 0))
      (loop $cols
        (local.set $pa (i32.shl (local.get $i) (i32.const 9)))   ;; &A[i][0]
        (local.set $end (i32.add (local.get $pa) (i32.const 512)))
        (local.set $pb (i32.shl (local.get $j) (i32.const 3)))   ;; &B[0][j] - 32768
        (local.set $sum (f64.const 0))
        (loop $dot
          (local.set $sum
            (f64.add
              (local.get $sum)
              (f64.mul
                (f64.load (local.get $pa))
                (f64.load offset=32768 (local.get $pb)))))
          (local.set $pb (i32.add (local.get $pb) (i32.const 512)))
          (br_if $dot
            (i32.ne
              (local.tee $pa (i32.add (local.get $pa) (i32.const 8)))
              (local.get $end))))
        (f64.store offset=65536
          (i32.add (i32.shl (local.get $i) (i32.const 9)) (i32.shl (local.get $j) (i32.const 3)))
          (local.get $sum))
        (br_if $cols
          (i32.ne (local.tee $j (i32.add (local.get $j) (i32.const 1))) (i32.const 64))))
      (br_if $rows
        (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 64)))))

  (func $checksum (result i64)
    (local $n i32) (local $total f64)
    (loop $each
      (local.set $total
        (f64.add
          (local.get $total)
          (f64.mul
            (f64.load offset=65536 (i32.shl (local.get $n) (i32.const 3)))
            (f64.convert_i32_u
              (i32.add (i32.rem_u (local.get $n) (i32.const 7)) (i32.const 1))))))
      (br_if $each
        (i32.ne (local.tee $n (i32.add (local.get $n) (i32.const 1))) (i32.const 4096))))
    (i64.trunc_f64_s (f64.mul (local.get $total) (f64.const 8))))

  (func (export "run") (result i64)
    (call $init)
    (call $matmul)
    (call $checksum)))
