/* open_close: the path_open + fd_close hot path of `harness bench`.
 *
 * 10,000 times: path_open of "file.txt" in the first preopened directory (fd 3), then
 * fd_close. The raw WASI calls are used (not open(3)), so no libc path resolution is
 * timed: each iteration is exactly two host calls. */
#include <stdio.h>
#include <wasi/api.h>

#define OPENS 10000

int main(void) {
    __wasi_prestat_t prestat;
    if (__wasi_fd_prestat_get(3, &prestat) != 0) {
        fprintf(stderr, "fd 3 is not a preopened directory\n");
        return 1;
    }
    for (int i = 0; i < OPENS; i++) {
        __wasi_fd_t fd;
        __wasi_errno_t err = __wasi_path_open(3, 0, "file.txt", 0,
                                              __WASI_RIGHTS_FD_READ, 0, 0, &fd);
        if (err != 0) {
            fprintf(stderr, "path_open: errno %d at %d\n", err, i);
            return 1;
        }
        if (__wasi_fd_close(fd) != 0) {
            fprintf(stderr, "fd_close failed at %d\n", i);
            return 1;
        }
    }
    printf("%d opens and closes\n", OPENS);
    return 0;
}
