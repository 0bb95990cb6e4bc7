;; Well-formed but invalid: the body leaves an i64 where an i32 result is declared.
(module
  (func (export "f") (result i32)
    i64.const 1))
