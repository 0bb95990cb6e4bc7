/* poll_clock: the poll_oneoff hot path of `harness bench`.
 *
 * 10,000 calls of poll_oneoff with one subscription: the monotonic clock, a relative timeout
 * of 0 ns (already expired). No time is actually waited, so what is measured is the cost of
 * the call itself: decoding the subscription, consulting the clock, writing the event. */
#include <stdio.h>
#include <wasi/api.h>

#define POLLS 10000

int main(void) {
    unsigned ready = 0;
    for (int i = 0; i < POLLS; i++) {
        __wasi_subscription_t sub = {
            .userdata = (__wasi_userdata_t)i,
            .u = {.tag = __WASI_EVENTTYPE_CLOCK,
                  .u = {.clock = {.id = __WASI_CLOCKID_MONOTONIC,
                                  .timeout = 0,
                                  .precision = 0,
                                  .flags = 0}}},
        };
        __wasi_event_t event;
        __wasi_size_t n = 0;
        __wasi_errno_t err = __wasi_poll_oneoff(&sub, &event, 1, &n);
        if (err != 0 || n != 1) {
            fprintf(stderr, "poll_oneoff: errno %d, %u events at %d\n", err, (unsigned)n, i);
            return 1;
        }
        if (event.userdata == (__wasi_userdata_t)i && event.error == 0 &&
            event.type == __WASI_EVENTTYPE_CLOCK) {
            ready++;
        }
    }
    printf("%d polls, %u clock events\n", POLLS, ready);
    return 0;
}
