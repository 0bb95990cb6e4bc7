;; Not valid WebAssembly text: the function is never closed.
(module
  (func (export "f") (result i32)
    i32.const 1
