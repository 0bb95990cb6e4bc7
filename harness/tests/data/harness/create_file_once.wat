;; Creates `created.txt` in the preopened root with O_CREAT|O_EXCL: exit 0 when it did
;; not exist. Passes on every run (and on every runner in parallel) only when each test
;; gets a private copy of its root.
(module
  (import "wasi_snapshot_preview1" "path_open" (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "created.txt")
  (func (export "_start") (local $errno i32)
    ;; oflags = CREAT(1) | EXCL(4); rights = FD_WRITE(64)
    (local.set $errno (call $path_open (i32.const 3) (i32.const 0) (i32.const 64) (i32.const 11) (i32.const 5)
                                       (i64.const 64) (i64.const 0) (i32.const 0) (i32.const 0)))
    (call $proc_exit (local.get $errno))))
