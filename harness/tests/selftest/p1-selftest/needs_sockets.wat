;; Needs a TCP connection to the guest: SKIP "needs: sockets", never a silent pass.
(module (memory (export "memory") 1) (func (export "_start")))
