;; Exports for the CLI tests: integer, float and multi-value results.
(module
  (func (export "add") (param i32 i32) (result i32)
    local.get 0
    local.get 1
    i32.add)
  (func (export "add64") (param i64 i64) (result i64)
    local.get 0
    local.get 1
    i64.add)
  (func (export "half") (param f64) (result f64)
    local.get 0
    f64.const 0.5
    f64.mul)
  (func (export "swap") (param f32 i32) (result i32 f32)
    local.get 1
    local.get 0)
  (func (export "nothing"))
  (memory (export "memory") 1))
