/* fd_write: the small-write hot path of `harness bench`.
 *
 * 200,000 calls of fd_write, each writing one 16-byte line to stdout. The raw WASI call is
 * used (not stdio), so each line is exactly one host call with one iovec. The lines differ
 * (a hex counter), so output that is lost, reordered or duplicated changes what the
 * harness compares between runtimes. */
#include <stdint.h>
#include <wasi/api.h>

#define WRITES 200000

int main(void) {
    static const char hex[] = "0123456789abcdef";
    char line[16] = "fd_write 000000\n"; /* 16 bytes, no NUL */
    for (uint32_t i = 0; i < WRITES; i++) {
        for (int d = 0; d < 6; d++) {
            line[9 + d] = hex[(i >> (20 - 4 * d)) & 0xf];
        }
        __wasi_ciovec_t iov = {.buf = (const uint8_t *)line, .buf_len = sizeof line};
        __wasi_size_t written = 0;
        __wasi_errno_t err = __wasi_fd_write(1, &iov, 1, &written);
        if (err != 0 || written != sizeof line) {
            return 1;
        }
    }
    return 0;
}
