/* compute: the CPU-bound scenario of `harness bench`.
 *
 * Five kernels that stress different parts of an engine, each printing its own checksum,
 * then one line combining them:
 *   matmul  f64 matrix multiply (loads/stores with offsets, f64 arithmetic)
 *   crc32   table-driven CRC-32 over a buffer (byte loads, table lookups, shifts)
 *   sort    merge sort of a malloc'd singly linked list (pointer chasing, branches, calls)
 *   parse   a lexer state machine over generated source text (byte dispatch, switch tables)
 *   sha256  SHA-256 of a buffer (i32 rotates, xors, adds; many locals)
 *
 * All inputs are generated from fixed seeds, so the output is the same on every run and
 * every engine; the same source built natively prints the same lines (build.sh --check),
 * which is how the expected output was obtained. No floating point is printed: the matmul
 * checksum folds the bits of the results.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t rng_state = 0x12345678u;

static uint32_t xorshift32(void) {
    uint32_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    rng_state = x;
    return x;
}

static uint64_t mix64(uint64_t h, uint64_t v) {
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    return h;
}

/* ---- matmul -------------------------------------------------------------------------- */

#define MAT_N 120

static double mat_a[MAT_N * MAT_N], mat_b[MAT_N * MAT_N], mat_c[MAT_N * MAT_N];

static uint64_t run_matmul(void) {
    for (int i = 0; i < MAT_N * MAT_N; i++) {
        mat_a[i] = (double)(xorshift32() % 2001) / 1000.0 - 1.0;
        mat_b[i] = (double)(xorshift32() % 2001) / 1000.0 - 1.0;
    }
    for (int i = 0; i < MAT_N; i++) {
        for (int j = 0; j < MAT_N; j++) {
            double sum = 0.0;
            for (int k = 0; k < MAT_N; k++) {
                sum += mat_a[i * MAT_N + k] * mat_b[k * MAT_N + j];
            }
            mat_c[i * MAT_N + j] = sum;
        }
    }
    uint64_t h = 0;
    for (int i = 0; i < MAT_N * MAT_N; i++) {
        uint64_t bits;
        memcpy(&bits, &mat_c[i], sizeof bits);
        h = mix64(h, bits);
    }
    return h;
}

/* ---- crc32 --------------------------------------------------------------------------- */

#define CRC_BYTES (2 * 1024 * 1024)

static uint32_t crc_table[256];
static uint8_t crc_buf[CRC_BYTES];

static uint64_t run_crc32(void) {
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++) {
            c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
        }
        crc_table[n] = c;
    }
    for (int i = 0; i < CRC_BYTES; i += 4) {
        uint32_t r = xorshift32();
        memcpy(&crc_buf[i], &r, 4);
    }
    uint32_t crc = 0xffffffffu;
    for (int i = 0; i < CRC_BYTES; i++) {
        crc = crc_table[(crc ^ crc_buf[i]) & 0xff] ^ (crc >> 8);
    }
    return crc ^ 0xffffffffu;
}

/* ---- linked-list sort ------------------------------------------------------------------ */

#define LIST_NODES 100000

struct node {
    struct node *next;
    uint32_t key;
    uint32_t seq;
};

/* Merges two sorted lists; equal keys keep their order (stable). */
static struct node *merge(struct node *a, struct node *b) {
    struct node head;
    struct node *tail = &head;
    while (a && b) {
        if (b->key < a->key) {
            tail->next = b;
            b = b->next;
        } else {
            tail->next = a;
            a = a->next;
        }
        tail = tail->next;
    }
    tail->next = a ? a : b;
    return head.next;
}

static struct node *merge_sort(struct node *list) {
    if (!list || !list->next) {
        return list;
    }
    struct node *slow = list, *fast = list->next;
    while (fast && fast->next) {
        slow = slow->next;
        fast = fast->next->next;
    }
    struct node *second = slow->next;
    slow->next = NULL;
    return merge(merge_sort(list), merge_sort(second));
}

static uint64_t run_sort(void) {
    struct node *list = NULL;
    for (uint32_t i = 0; i < LIST_NODES; i++) {
        struct node *n = malloc(sizeof *n);
        if (!n) {
            puts("sort: out of memory");
            exit(1);
        }
        n->key = xorshift32() % 100000;
        n->seq = i;
        n->next = list;
        list = n;
    }
    list = merge_sort(list);
    uint64_t h = 0;
    uint32_t count = 0, prev = 0;
    while (list) {
        struct node *next = list->next;
        if (list->key < prev) {
            puts("sort: not sorted");
            exit(1);
        }
        prev = list->key;
        h = mix64(h, ((uint64_t)list->key << 32) | list->seq);
        count++;
        free(list);
        list = next;
    }
    return mix64(h, count);
}

/* ---- parser state machine -------------------------------------------------------------- */

#define SRC_BYTES (768 * 1024)

static char src[SRC_BYTES + 1];

/* Generates a C-like source text: identifiers, numbers (ints, decimals, exponents, hex),
 * strings with escapes, comments, operators and whitespace. */
static void generate_source(void) {
    static const char *const words[] = {"let", "value", "count", "x", "alpha_beta", "fn",
                                        "return", "while", "if", "else", "buffer", "i"};
    static const char ops[] = "+-*/=<>(){};,.";
    int n = 0;
    while (n < SRC_BYTES - 64) {
        uint32_t r = xorshift32();
        switch (r % 9) {
        case 0:
        case 1:
            n += sprintf(&src[n], "%s", words[(r >> 8) % 12]);
            break;
        case 2:
            n += sprintf(&src[n], "%u", (r >> 8) % 100000);
            break;
        case 3:
            n += sprintf(&src[n], "%u.%ue%c%u", (r >> 8) % 1000, (r >> 18) % 100,
                         (r & 0x100) ? '-' : '+', (r >> 25) % 20);
            break;
        case 4:
            n += sprintf(&src[n], "0x%x", r >> 12);
            break;
        case 5:
            n += sprintf(&src[n], "\"s%u\\n\\\"q\\\\%u\"", (r >> 8) % 97, (r >> 20) % 13);
            break;
        case 6:
            n += sprintf(&src[n], "/* c%u */", (r >> 8) % 1000);
            break;
        default:
            src[n++] = ops[(r >> 8) % (sizeof ops - 1)];
            break;
        }
        src[n++] = (r >> 28) < 3 ? '\n' : ' ';
    }
    src[n] = '\0';
}

enum state { S_START, S_IDENT, S_INT, S_HEX, S_FRAC, S_EXP_SIGN, S_EXP, S_STRING, S_ESCAPE,
             S_SLASH, S_COMMENT, S_COMMENT_STAR };

enum token { T_IDENT, T_INT, T_HEX, T_FLOAT, T_STRING, T_COMMENT, T_OP, T_LINE, T_COUNT };

static int is_alpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static int is_digit(int c) { return c >= '0' && c <= '9'; }
static int is_hex(int c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

static uint64_t run_parse(void) {
    generate_source();
    uint32_t counts[T_COUNT] = {0};
    uint64_t ident_hash = 0, int_sum = 0, value = 0;
    enum state s = S_START;
    const char *p = src;
    for (;;) {
        int c = (unsigned char)*p;
        switch (s) {
        case S_START:
            if (c == '\0') {
                goto done;
            } else if (c == '\n') {
                counts[T_LINE]++;
            } else if (c == ' ') {
            } else if (is_alpha(c)) {
                s = S_IDENT;
                value = (uint64_t)c;
            } else if (c == '0' && p[1] == 'x') {
                s = S_HEX;
                value = 0;
                p++;
            } else if (is_digit(c)) {
                s = S_INT;
                value = (uint64_t)(c - '0');
            } else if (c == '"') {
                s = S_STRING;
            } else if (c == '/') {
                s = S_SLASH;
            } else {
                counts[T_OP]++;
                ident_hash = mix64(ident_hash, (uint64_t)c);
            }
            p++;
            break;
        case S_IDENT:
            if (is_alpha(c) || is_digit(c)) {
                value = value * 31 + (uint64_t)c;
                p++;
            } else {
                counts[T_IDENT]++;
                ident_hash = mix64(ident_hash, value);
                s = S_START;
            }
            break;
        case S_INT:
            if (is_digit(c)) {
                value = value * 10 + (uint64_t)(c - '0');
                p++;
            } else if (c == '.') {
                s = S_FRAC;
                p++;
            } else {
                counts[T_INT]++;
                int_sum += value;
                s = S_START;
            }
            break;
        case S_HEX:
            if (is_hex(c)) {
                value = value * 16 + (uint64_t)(is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10);
                p++;
            } else {
                counts[T_HEX]++;
                int_sum += value;
                s = S_START;
            }
            break;
        case S_FRAC:
            if (is_digit(c)) {
                p++;
            } else if (c == 'e' || c == 'E') {
                s = S_EXP_SIGN;
                p++;
            } else {
                counts[T_FLOAT]++;
                s = S_START;
            }
            break;
        case S_EXP_SIGN:
            if (c == '+' || c == '-') {
                p++;
            }
            s = S_EXP;
            break;
        case S_EXP:
            if (is_digit(c)) {
                p++;
            } else {
                counts[T_FLOAT]++;
                s = S_START;
            }
            break;
        case S_STRING:
            if (c == '\\') {
                s = S_ESCAPE;
            } else if (c == '"') {
                counts[T_STRING]++;
                s = S_START;
            } else if (c == '\0') {
                puts("parse: unterminated string");
                exit(1);
            } else {
                ident_hash = mix64(ident_hash, (uint64_t)c << 8);
            }
            p++;
            break;
        case S_ESCAPE:
            ident_hash = mix64(ident_hash, (uint64_t)c << 16);
            s = S_STRING;
            p++;
            break;
        case S_SLASH:
            if (c == '*') {
                s = S_COMMENT;
                p++;
            } else {
                counts[T_OP]++;
                s = S_START;
            }
            break;
        case S_COMMENT:
            if (c == '*') {
                s = S_COMMENT_STAR;
            } else if (c == '\0') {
                puts("parse: unterminated comment");
                exit(1);
            }
            p++;
            break;
        case S_COMMENT_STAR:
            if (c == '/') {
                counts[T_COMMENT]++;
                s = S_START;
                p++;
            } else if (c == '*') {
                p++;
            } else {
                s = S_COMMENT;
            }
            break;
        }
    }
done:;
    uint64_t h = mix64(ident_hash, int_sum);
    for (int t = 0; t < T_COUNT; t++) {
        h = mix64(h, counts[t]);
    }
    return h;
}

/* ---- sha256 -------------------------------------------------------------------------- */

#define SHA_BYTES (1024 * 1024)

static uint8_t sha_buf[SHA_BYTES];

static const uint32_t sha_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
    0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
    0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
    0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
    0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2};

static uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

static void sha256_block(uint32_t h[8], const uint8_t *block) {
    uint32_t w[64];
    for (int i = 0; i < 16; i++) {
        w[i] = ((uint32_t)block[4 * i] << 24) | ((uint32_t)block[4 * i + 1] << 16) |
               ((uint32_t)block[4 * i + 2] << 8) | block[4 * i + 3];
    }
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t s1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
        uint32_t ch = (e & f) ^ (~e & g);
        uint32_t t1 = hh + s1 + ch + sha_k[i] + w[i];
        uint32_t s0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
        uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
        uint32_t t2 = s0 + maj;
        hh = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += hh;
}

/* SHA-256 of sha_buf (SHA_BYTES, a multiple of 64), written as hex into out[65]. */
static void sha256(char out[65]) {
    uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                     0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    for (int i = 0; i < SHA_BYTES; i += 64) {
        sha256_block(h, &sha_buf[i]);
    }
    uint8_t pad[64] = {0x80};
    uint64_t bits = (uint64_t)SHA_BYTES * 8;
    for (int i = 0; i < 8; i++) {
        pad[63 - i] = (uint8_t)(bits >> (8 * i));
    }
    sha256_block(h, pad);
    for (int i = 0; i < 8; i++) {
        sprintf(&out[8 * i], "%08x", h[i]);
    }
}

static uint64_t run_sha256(char digest[65]) {
    /* The message is bytes i * 7 + (i >> 8): reproducible with any SHA-256 tool. */
    for (uint32_t i = 0; i < SHA_BYTES; i++) {
        sha_buf[i] = (uint8_t)(i * 7 + (i >> 8));
    }
    sha256(digest);
    uint64_t h = 0;
    for (int i = 0; i < 64; i++) {
        h = mix64(h, (uint64_t)(unsigned char)digest[i]);
    }
    return h;
}

int main(void) {
    uint64_t all = 0, h;
    char digest[65];

    h = run_matmul();
    printf("matmul %016llx\n", (unsigned long long)h);
    all = mix64(all, h);
    h = run_crc32();
    printf("crc32  %08llx\n", (unsigned long long)h);
    all = mix64(all, h);
    h = run_sort();
    printf("sort   %016llx\n", (unsigned long long)h);
    all = mix64(all, h);
    h = run_parse();
    printf("parse  %016llx\n", (unsigned long long)h);
    all = mix64(all, h);
    h = run_sha256(digest);
    printf("sha256 %s\n", digest);
    all = mix64(all, h);
    printf("checksum %016llx\n", (unsigned long long)all);
    return 0;
}
