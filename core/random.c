/* The loop's seeded generator: xoshiro256** (Blackman and Vigna), its state
 * expanded from the 64-bit seed with splitmix64, so one seed names a run. */
#include "core_internal.h"
#include "clockwork/concurrency.h"

#include <time.h>

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9E3779B97F4A7C15u);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
  return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void cw_loop_seed(cw_loop *loop, uint64_t seed) {
  if (!loop) {
    misuse(NULL, "cw_loop_seed", NULL, 0, "the loop is NULL");
    return;
  }
  loop->seed = seed;
  for (int i = 0; i < 4; i++)
    loop->rng[i] = splitmix64(&seed);
}

void random_init(cw_loop *loop) {
  uint64_t seed;
  if (uv_random(NULL, NULL, &seed, sizeof seed, 0, NULL) != 0)
    seed = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)loop;
  cw_loop_seed(loop, seed);
}

uint64_t cw_loop_get_seed(const cw_loop *loop) { return loop ? loop->seed : 0; }

uint64_t cw_random(cw_loop *loop) {
  if (!loop) {
    misuse(NULL, "cw_random", NULL, 0, "the loop is NULL");
    return 0;
  }
  uint64_t *s = loop->rng;
  uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

double cw_random_unit(cw_loop *loop) { return (double)(cw_random(loop) >> 11) * 0x1.0p-53; }
