;; A module whose default export (_start) runs without --invoke.
(module
  (func (export "_start")))
