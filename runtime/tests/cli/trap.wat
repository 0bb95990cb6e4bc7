;; `boom` calls `inner`, which executes `unreachable`; `divide` traps on a zero divisor.
(module $trapper
  (func $inner
    unreachable)
  (func $boom (export "boom")
    call $inner)
  (func (export "divide") (param i32 i32) (result i32)
    local.get 0
    local.get 1
    i32.div_s))
