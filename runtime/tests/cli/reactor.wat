;; A reactor: `_initialize` sets up state, `""` (the default export) and `get` read it.
;; `_initialize` must run first, whichever of them runs.
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "env" "unknown" (func $unknown (param i32) (result i64)))
  (memory (export "memory") 1)
  (global $ready (mut i32) (i32.const 0))
  (data (i32.const 16) "initialized\n")
  (func (export "_initialize")
    (global.set $ready (i32.const 41)))
  (func (export "")
    ;; iovec at 0: base 16, length 12; the count of bytes written goes to 8.
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 12))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (if (i32.ne (global.get $ready) (i32.const 41)) (then unreachable)))
  (func (export "get") (result i32)
    (i32.add (global.get $ready) (i32.const 1)))
  (func (export "call-unknown") (result i64)
    (call $unknown (i32.const 7))))
