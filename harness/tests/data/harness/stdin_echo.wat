;; Copies stdin to stdout until end-of-file.
(module
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start") (local $n i32)
    (block $eof (loop $next
      (i32.store (i32.const 8) (i32.const 1024))
      (i32.store (i32.const 12) (i32.const 3))
      (if (call $fd_read (i32.const 0) (i32.const 8) (i32.const 1) (i32.const 16))
        (then (call $proc_exit (i32.const 11))))
      (local.set $n (i32.load (i32.const 16)))
      (br_if $eof (i32.eqz (local.get $n)))
      (i32.store (i32.const 12) (local.get $n))
      (drop (call $fd_write (i32.const 1) (i32.const 8) (i32.const 1) (i32.const 16)))
      (br $next)))))
