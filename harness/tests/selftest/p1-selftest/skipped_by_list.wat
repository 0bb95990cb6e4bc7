;; Would pass; the self-test skiplist skips it: SKIP with the entry's reason.
(module (memory (export "memory") 1) (func (export "_start")))
