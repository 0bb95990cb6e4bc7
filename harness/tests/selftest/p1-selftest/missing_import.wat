;; Imports a function no runner defines: FAIL "could not start", never an exit code.
(module
  (import "env" "nope" (func))
  (memory (export "memory") 1)
  (func (export "_start")))
