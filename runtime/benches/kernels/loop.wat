;; Tight integer loop: count from 0 to N with a handful of i32/i64 ops and one
;; data-dependent branch per iteration. No memory, no calls.
;;   x = i * 0x9e3779b1 (wrapping); sum += zext(x); if x >>u 28 == 0 { count += 1 }
;; run() = sum ^ (count << 40)
(module
  (func (export "run") (result i64)
    (local $i i32) (local $x i32) (local $count i32) (local $sum i64)
    (loop $next
      (local.set $x (i32.mul (local.get $i) (i32.const 0x9e3779b1)))
      (local.set $sum (i64.add (local.get $sum) (i64.extend_i32_u (local.get $x))))
      (if (i32.eqz (i32.shr_u (local.get $x) (i32.const 28)))
        (then (local.set $count (i32.add (local.get $count) (i32.const 1)))))
      (br_if $next
        (i32.ne
          (local.tee $i (i32.add (local.get $i) (i32.const 1)))
          (i32.const 1000000))))
    (i64.xor
      (local.get $sum)
      (i64.shl (i64.extend_i32_u (local.get $count)) (i64.const 40)))))
