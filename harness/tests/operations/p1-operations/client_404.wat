;; The fake runtime does what the file name says (tests/support/fake_runtime.rs).
(module)
