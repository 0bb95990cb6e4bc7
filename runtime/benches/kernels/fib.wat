;; Recursive Fibonacci: call/return overhead, small i32 arithmetic, branches.
;; run() = fib(25) = 75025, widened to i64.
(module
  (func $fib (param $n i32) (result i32)
    (if (result i32) (i32.lt_u (local.get $n) (i32.const 2))
      (then (local.get $n))
      (else
        (i32.add
          (call $fib (i32.sub (local.get $n) (i32.const 1)))
          (call $fib (i32.sub (local.get $n) (i32.const 2)))))))

  (func (export "run") (result i64)
    (i64.extend_i32_u (call $fib (i32.const 25)))))
