/* read_file: the bulk-read hot path of `harness bench`.
 *
 * Opens argv[1] (a 64 MiB file the harness creates in a preopened temp dir) and reads it to
 * the end in 64 KiB chunks with read(2), which wasi-libc turns into exactly one fd_read per
 * call. A light checksum (one 64-bit word every 512 bytes) proves the data arrived without
 * making the guest's own work dominate the time. Prints the byte count and the checksum. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define CHUNK (64 * 1024)

static uint8_t buf[CHUNK];

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: read_file FILE\n");
        return 2;
    }
    int fd = open(argv[1], O_RDONLY);
    if (fd < 0) {
        perror(argv[1]);
        return 1;
    }
    uint64_t total = 0, sum = 0;
    uint32_t reads = 0;
    for (;;) {
        ssize_t n = read(fd, buf, CHUNK);
        if (n < 0) {
            perror("read");
            return 1;
        }
        if (n == 0) {
            break;
        }
        reads++;
        for (ssize_t i = 0; i + 8 <= n; i += 512) {
            uint64_t w;
            memcpy(&w, &buf[i], 8);
            sum = (sum ^ w) * 0x100000001b3ull;
        }
        total += (uint64_t)n;
    }
    close(fd);
    printf("read %llu bytes in %u reads, checksum %016llx\n", (unsigned long long)total, reads,
           (unsigned long long)sum);
    return 0;
}
