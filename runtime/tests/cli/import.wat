;; Imports a function the CLI does not provide.
(module
  (import "env" "missing" (func))
  (func (export "f")))
