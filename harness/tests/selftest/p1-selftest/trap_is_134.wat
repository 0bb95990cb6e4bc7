;; Traps; the spec expects 134, the exit code wasmtime's CLI gives a trap: PASS.
(module
  (memory (export "memory") 1)
  (func (export "_start") unreachable))
