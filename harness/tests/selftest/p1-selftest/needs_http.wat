;; An HTTP service: SKIP "needs: http".
(module (memory (export "memory") 1) (func (export "_start")))
