/*
 * LD_PRELOAD shim that moves the wall clock (CLOCK_REALTIME) of one program by a number of seconds,
 * for `npm run test:clock`. libfaketime would do, but it deadlocks workerd at start: its constructor
 * calls dlsym, which allocates, inside tcmalloc's first allocation. This shim calls the kernel
 * directly (no dlsym, no allocation) and leaves the monotonic clocks alone, so timers, timeouts and
 * the event loop run as usual while Date.now(), alarms and every calendar computation see the
 * moved date.
 *
 *   CLOCK_SHIFT_SECONDS  seconds to add (negative moves back)
 *   CLOCK_SHIFT_ONLY     if set, only the program of that name is shifted (e.g. "workerd"): the
 *                        test runner's Node process keeps the real date
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static long long shift_seconds(void) {
  static long long shift = 0;
  static int ready = 0;
  if (!ready) {
    const char *seconds = getenv("CLOCK_SHIFT_SECONDS");
    const char *only = getenv("CLOCK_SHIFT_ONLY");
    shift = seconds ? atoll(seconds) : 0;
    if (only && strcmp(only, program_invocation_short_name) != 0) shift = 0;
    ready = 1;
  }
  return shift;
}

int clock_gettime(clockid_t id, struct timespec *ts) {
  long rc = syscall(SYS_clock_gettime, id, ts);
  if (rc == 0 && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE)) ts->tv_sec += shift_seconds();
  return (int)rc;
}

int gettimeofday(struct timeval *tv, void *tz) {
  (void)tz;
  struct timespec ts;
  int rc = clock_gettime(CLOCK_REALTIME, &ts);
  if (rc == 0 && tv) {
    tv->tv_sec = ts.tv_sec;
    tv->tv_usec = ts.tv_nsec / 1000;
  }
  return rc;
}

time_t time(time_t *out) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  if (out) *out = ts.tv_sec;
  return ts.tv_sec;
}
