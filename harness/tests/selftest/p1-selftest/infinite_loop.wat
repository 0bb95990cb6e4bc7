;; Spins forever: the deadline stops it, FAIL "timed out".
(module
  (memory (export "memory") 1)
  (func (export "_start") (loop $spin (br $spin))))
