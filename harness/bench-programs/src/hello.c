/* hello: the cold-start scenario of `harness bench`. What is timed around it is everything
 * from the module's bytes to its exit: a runtime's fixed cost for a tiny program. */
#include <stdio.h>

int main(void) {
    printf("Hello, world!\n");
    return 0;
}
