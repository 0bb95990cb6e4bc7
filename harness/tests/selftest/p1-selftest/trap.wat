;; Traps; the spec expects exit code 0: FAIL naming the trap.
(module
  (memory (export "memory") 1)
  (func (export "_start") unreachable))
